"""train.run.checkpoint on small hand-made Runners: permissions, temporary files, the
refusal of non-finite values, and the fallback past unreadable newest files."""
import os

import numpy as np
import pytest

from train.config import TrainConfig
from train.ppo.update import Runner
from train.run import checkpoint

TC = TrainConfig.of(preset="small", num_worlds=2, rollout_len=8, num_minibatches=2)


def runner(update: int, w=(1.0, 2.0, 3.0)) -> Runner:
    return Runner(params={"w": np.asarray(w, np.float32)}, opt_state=(), env_state=(), obs=(),
                  key=np.zeros(2, np.uint32), update=np.int32(update))


def test_checkpoints_get_the_usual_file_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = checkpoint.save(tmp_path, runner(1), TC)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path) == ["ckpt_0000001.npz"]


def test_clean_removes_files_of_killed_writes(tmp_path):
    checkpoint.save(tmp_path, runner(1), TC)
    (tmp_path / ".tmp_ckpt_abc.npz").write_bytes(b"half")
    assert [p.name for p in checkpoint.clean(tmp_path)] == [".tmp_ckpt_abc.npz"]
    assert os.listdir(tmp_path) == ["ckpt_0000001.npz"]


def test_save_refuses_non_finite_values_and_writes_nothing(tmp_path):
    good = checkpoint.save(tmp_path, runner(1), TC).read_bytes()
    with pytest.raises(checkpoint.CheckpointError, match=r"non-finite values in \.params\['w'\]"):
        checkpoint.save(tmp_path, runner(2, w=(1.0, np.nan, 3.0)), TC)
    assert os.listdir(tmp_path) == ["ckpt_0000001.npz"]
    assert (tmp_path / "ckpt_0000001.npz").read_bytes() == good


def damaged(data: bytes) -> dict:
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    return {"empty": b"", "garbage": b"\x80\x04 a pickle, say", "truncated": data[:len(data) // 2],
            "bit-flipped": bytes(flipped)}


@pytest.mark.parametrize("kind", ["empty", "garbage", "truncated", "bit-flipped"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_newest_valid(tmp_path, capsys, kind):
    for u in (1, 2, 3):
        checkpoint.save(tmp_path, runner(u), TC)
    newest = tmp_path / "ckpt_0000003.npz"
    newest.write_bytes(damaged(newest.read_bytes())[kind])
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.read(newest)  # a file named explicitly: no fallback
    loaded = checkpoint.load(tmp_path)
    assert loaded.path.name == "ckpt_0000002.npz" and loaded.header["update"] == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "using ckpt_0000002.npz, the newest valid checkpoint" in err
    if kind == "garbage":
        assert "is not a checkpoint" in err and "pickle" not in err
    checkpoint.load(tmp_path, set_aside=True)
    assert sorted(os.listdir(tmp_path)) == ["ckpt_0000001.npz", "ckpt_0000002.npz",
                                            "ckpt_0000003.npz.corrupt"]


def test_no_valid_checkpoint_names_each_file(tmp_path):
    (tmp_path / "ckpt_0000001.npz").write_bytes(b"")
    (tmp_path / "ckpt_0000002.npz").write_bytes(b"junk")
    with pytest.raises(checkpoint.CheckpointError, match="no valid checkpoint in .*"
                       "ckpt_0000002.npz' is not a checkpoint.*ckpt_0000001.npz' is an empty file"):
        checkpoint.load(tmp_path)
