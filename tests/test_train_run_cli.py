"""`python -m train` flags: one per setting of TrainConfig's parts; every bad value, path
and seed is one line naming the flag, before any work; --resume takes the run's own
settings."""
import dataclasses
import pathlib

import numpy as np
import pytest

from train.config import ORDER, PARTS, TrainConfig, setting_fields
from train.ppo.update import Runner
from train.run import checkpoint, loop
from train.run.cli import main, parse

TINY = TrainConfig.of(preset="small", num_worlds=2, rollout_len=8, num_minibatches=2, epochs=1,
                      updates_per_chunk=2, checkpoint_every=1, total_steps=512, minutes=0.0,
                      width=16, eval_ticks=30, eval_worlds=1)
FLOATS = [f.name for f in setting_fields() if f.type == "float"]


def refused(capsys, argv: list[str]) -> str:
    """The error line of a command line refused by the parser."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("python -m train: error: ")
    return err[-1]


@pytest.fixture
def saved_run(tmp_path):
    """A run directory holding a checkpoint of TINY (a stand-in Runner: only the config is read)."""
    runner = Runner(params={"w": np.zeros(2, np.float32)}, opt_state=(), env_state=(), obs=(),
                    key=np.zeros(2, np.uint32), update=np.int32(2))
    checkpoint.save(tmp_path / "run" / "checkpoints", runner, TINY)
    return tmp_path / "run"


@pytest.mark.parametrize("name", FLOATS)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_float_flags_are_refused(capsys, name, value):
    flag = "--" + name.replace("_", "-")
    err = refused(capsys, [f"{flag}={value}"])
    assert f"{flag}={float(value)!r}: must be a finite number" in err
    with pytest.raises(ValueError, match=f"{flag}="):
        TINY.replace(**{name: float(value)})


@pytest.mark.parametrize("seed", ["-1", str(2 ** 32), str(2 ** 64)])
def test_seed_outside_32_bits_is_refused(capsys, seed):
    assert f"--seed={seed}: must be in 0..2**32-1" in refused(capsys, ["--seed", seed])


def test_bad_paths_are_named(capsys, tmp_path, saved_run, monkeypatch):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert "--out: the path is empty" in refused(capsys, ["--out", ""])
    assert f"--out {a_file}: is a file; name a folder" in refused(capsys, ["--out", str(a_file)])
    assert "is a file, not a folder" in refused(capsys, ["--out", str(a_file / "run")])
    assert f"--resume {a_file}: is a file" in refused(capsys, ["--resume", str(a_file)])
    assert "--resume: the path is empty" in refused(capsys, ["--resume", ""])
    assert "no such run directory" in refused(capsys, ["--resume", str(tmp_path / "nowhere")])
    assert "--resume" in refused(capsys, ["--resume", str(tmp_path)])  # holds no checkpoint
    assert "different directories" in refused(capsys, ["--resume", str(saved_run),
                                                       "--out", str(tmp_path)])
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr("os.access", lambda path, mode: pathlib.Path(path) != locked)
    assert f"cannot write in {locked}" in refused(capsys, ["--out", str(locked / "run")])


def test_a_non_empty_run_directory_is_refused_unless_resumed_or_overwritten(tmp_path, capsys,
                                                                            saved_run):
    assert main(["--out", str(saved_run), "--preset", "small"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: --out {saved_run}: the directory is not empty; --resume {saved_run} "
                   "continues the run in it, --overwrite replaces it")
    assert checkpoint.latest(saved_run).name == "ckpt_0000002.npz"  # untouched
    (saved_run / "notes.txt").write_text("mine")
    (saved_run / "metrics.csv").write_text("update\n")
    (saved_run / "checkpoints" / ".tmp_ckpt_x.npz").write_text("")
    loop.prepare(saved_run, resume=True, overwrite=False)
    assert sorted(p.name for p in (saved_run / "checkpoints").iterdir()) == ["ckpt_0000002.npz"]
    loop.prepare(saved_run, resume=False, overwrite=True)
    assert sorted(p.name for p in saved_run.iterdir()) == ["notes.txt"]


def test_resume_takes_the_run_settings_and_budget(saved_run):
    tc, args = parse(["--resume", str(saved_run), "--preset", "small", "--num-worlds", "2"])
    assert tc == TINY and args.out == saved_run
    tc, _ = parse(["--resume", str(saved_run), "--total-steps", "1024", "--minutes", "3"])
    assert tc == TINY.replace(total_steps=1024, minutes=3.0)


def test_resume_refuses_a_conflicting_flag(capsys, saved_run):
    err = refused(capsys, ["--resume", str(saved_run), "--lr", "0.5", "--width", "16"])
    assert "--lr=0.5: the run has --lr=0.001" in err and "--width" not in err.split(
        "(")[0]


def test_every_setting_of_every_part_is_one_flag_and_reads_back():
    own = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in PARTS]
    parts = [f.name for cls in PARTS.values() for f in dataclasses.fields(cls)]
    assert sorted(ORDER) == sorted(own + parts) and len(set(ORDER)) == len(ORDER)
    tc = TrainConfig.of(gamma=0.9, devices=2, num_worlds=4)
    assert (tc.ppo.gamma, tc.placement.devices, tc.num_worlds) == (0.9, 2, 4)
    assert TrainConfig.from_dict(tc.to_dict()) == tc
    assert parse(tc.flags(changed_only=True))[0] == tc
    with pytest.raises(TypeError, match="'gamme'"):
        TrainConfig.of(gamme=0.9)


def test_num_agents_sets_the_population_cap_of_the_preset():
    tc = TrainConfig.of(num_agents=16)
    assert (tc.env_config.num_agents, tc.env_config.map_size) == (16, 80)
    assert tc.steps_per_update == tc.ppo.rollout_len * tc.num_worlds * 16
    assert TrainConfig.of().env_config.num_agents == 128
    with pytest.raises(ValueError, match="--num-agents=12"):
        TrainConfig.of(num_agents=12)  # 8 populations cannot share 12 slots


def test_item_flags_reach_the_world_and_refuse_in_one_line(capsys):
    """The flags of the systems (their values and refusals: test_policies_items_io.py)."""
    tc, _ = parse(["--preset", "nmmo2", "--num-npcs", "0", "--professions", "0"])
    assert (tc.env_config.num_npcs, tc.env_config.inventory_slots,
            tc.env_config.professions) == (0, 12, False)
    assert "--professions=1: the 'small' preset refuses it" in refused(
        capsys, ["--preset", "small", "--professions", "1"])
