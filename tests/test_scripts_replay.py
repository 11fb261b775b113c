"""scripts/replay.py: the command line writes the replay; bad flags fail before any work."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

import nmmo_jax as nj
from policies.scripted import random_policy
from scripts import replay as replay_script
from tests.test_viz_page import page_data
from tests.test_viz_record import SEED, TICKS, small_recording
from viz.page import replay_data
from viz.record import record


@pytest.mark.slow
def test_script_writes_html_gif_and_pngs(tmp_path, capsys):
    out = tmp_path / "replay.html"
    assert replay_script.main(["--policy", "random", "--preset", "small", "--ticks", str(TICKS),
                               "--seed", str(SEED), "--out", str(out), "--gif", str(tmp_path / "r.gif"),
                               "--png-every", "20"]) == 0
    data = page_data(out.read_text())
    expected = replay_data(small_recording())  # same policy, preset and seed: the same recording
    assert data["alive"] == expected["alive"] and data["agents"] == expected["agents"]
    assert data["meta"]["policy"] == "random"
    assert Image.open(tmp_path / "r.gif").n_frames == TICKS + 1
    assert sorted(p.name for p in (tmp_path / "replay_frames").iterdir()) == [
        "tick_000000.png", "tick_000020.png", "tick_000040.png"]
    assert f"wrote {out}" in capsys.readouterr().out


def run_script_error(args: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        replay_script.main(args)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_script_missing_or_bad_checkpoint_fails_clearly(tmp_path, capsys):
    missing = tmp_path / "no_such_run"
    err = run_script_error(["--policy", str(missing), "--ticks", "5"], capsys)
    assert f"--policy {str(missing)!r}: no such run directory or checkpoint file" in err
    junk = tmp_path / "ckpt_0000001.npz"
    junk.write_bytes(b"this is not a checkpoint")
    err = run_script_error(["--policy", str(junk), "--ticks", "5"], capsys)
    assert "cannot load this checkpoint" in err and "is not a checkpoint" in err
    empty = tmp_path / "empty_run"
    empty.mkdir()
    err = run_script_error(["--policy", str(empty), "--ticks", "5"], capsys)
    assert "cannot load this checkpoint" in err and "no ckpt_*.npz" in err
    assert not (tmp_path / "replay.html").exists()


def test_script_pretrained_and_scripted_names(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("policies.resolve.pretrained_path",
                        lambda: tmp_path / "pretrained" / "default.npz")
    err = run_script_error(["--policy", "pretrained"], capsys)
    assert "no pretrained checkpoint at" in err and str(tmp_path / "pretrained") in err
    err = run_script_error(["--policy", "forgaer"], capsys)
    assert "--policy 'forgaer': not a scripted policy (random, forager" in err
    named = replay_script.load_policy("random")
    assert (named.policy(), named.config, named.name) == (random_policy, None, "random")
    err = run_script_error(["--policy", "random", "--ticks", "0"], capsys)
    assert "--ticks must be >= 1" in err




@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the script gets as far as loading a policy (the first real work)."""
    def refuse(spec):
        raise AssertionError("the script loaded a policy before checking its flags")
    monkeypatch.setattr(replay_script, "load_policy", refuse)


def test_out_into_a_bad_place_is_refused_before_any_work(tmp_path, capsys, no_work):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [
        (["--out", ""], "--out: the path is empty"),
        (["--out", str(tmp_path)], f"--out {tmp_path}: is a directory"),
        (["--out", str(a_file / "replay.html")], f"{a_file} is a file, not a folder"),
        (["--gif", str(tmp_path)], f"--gif {tmp_path}: is a directory"),
        (["--png-every", "5", "--png-dir", str(a_file)], f"--png-dir {a_file}: is a file"),
        (["--png-every", "5", "--out", str(a_file / "r.html")], "--out"),
        (["--seed", str(2 ** 64)], "--seed=18446744073709551616: must be in 0..2**32-1"),
        (["--seed", "-1"], "--seed=-1: must be in 0..2**32-1"),
    ]
    for flags, message in cases:
        last = run_script_error(["--policy", "random", *flags], capsys).strip().splitlines()[-1]
        assert last.startswith("python -m scripts.replay: error: ") and message in last, flags


@pytest.mark.slow
def test_params_change_the_recorded_game(tmp_path):
    """--params (repeatable, spaces allowed) records the game with those numbers: the page is
    viz.record's with them, differs from v1.3's, and its meta names the changes."""
    pages = {}
    for name, flags in [("v13", []), ("thirsty", ["--params", "food_decay=3",
                                                  "--params", "water_decay = 2"])]:
        out = tmp_path / f"{name}.html"
        assert replay_script.main(["--policy", "random", "--preset", "small", "--ticks", "3",
                                   "--seed", "1", "--out", str(out), *flags]) == 0
        pages[name] = page_data(out.read_text())
    small = nj.Config.small()
    expected = replay_data(record(random_policy, small, 3, 1, name="random",
                                  params=nj.default_params(small, food_decay=3, water_decay=2)))
    assert pages["thirsty"] == expected
    assert pages["thirsty"]["meta"]["params"] == {"food_decay": 3, "water_decay": 2}
    assert pages["v13"]["meta"]["params"] == {}
    assert pages["thirsty"]["agents"]["food"] != pages["v13"]["agents"]["food"]


def test_bad_params_fail_with_one_line_naming_the_field(capsys, no_work):
    cases = [
        (["--params", "bogus=1"], "bogus: not a Params field (fields: noise_frequency, "),
        (["--params", "map_size=64"], "map_size: a Config field"),
        (["--params", "food_decay"], "--params 'food_decay': expected FIELD=VALUE"),
        (["--params", "food_decay=lots"], "Params.food_decay='lots': not a number"),
    ]
    for flags, message in cases:
        lines = run_script_error(["--policy", "random", *flags], capsys).strip().splitlines()
        assert lines[-1].startswith("python -m scripts.replay: error: ") and message in lines[-1], flags


def test_bad_param_values_fail_with_one_line_naming_the_field(capsys, tmp_path):
    """Values are checked against the world's config (a checkpoint brings its own), before recording."""
    cases = [
        (["--params", "food_decay=-1"], "Params.food_decay=-1: must be >= 0"),
        (["--params", "melee_range=8", "--preset", "small"], "Params.melee_range=8: must be <= "
         "Config.vision=7"),
        (["--params", "melee_damage=5"], "Params.melee_damage='5': must be a pair"),
    ]
    for flags, message in cases:
        lines = run_script_error(["--policy", "random", "--out", str(tmp_path / "r.html"), *flags],
                                 capsys).strip().splitlines()
        assert lines[-1].startswith("python -m scripts.replay: error: ") and message in lines[-1], flags
    assert not (tmp_path / "r.html").exists()


def test_out_into_an_unwritable_folder_is_refused(tmp_path, capsys, no_work, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root may write anywhere: let the check see the folder as others do
        real = os.access
        monkeypatch.setattr(os, "access",
                            lambda p, mode: real(p, mode) and not (Path(p) == locked and mode & os.W_OK))
    err = run_script_error(["--policy", "random", "--out", str(locked / "sub" / "r.html")], capsys)
    assert f"cannot write in {locked}" in err
