"""scripts/replay.py: the command line writes the replay; bad flags fail before any work."""
from __future__ import annotations

import pytest
from PIL import Image

from policies.scripted import random_policy
from scripts import replay as replay_script
from tests.test_viz_page import page_data
from tests.test_viz_record import SEED, TICKS, small_recording
from viz.page import replay_data


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
    assert f"--policy {str(missing)!r}: no such checkpoint file or run directory" in err
    junk = tmp_path / "ckpt_0000001.npz"
    junk.write_bytes(b"this is not a checkpoint")
    err = run_script_error(["--policy", str(junk), "--ticks", "5"], capsys)
    assert "cannot load this checkpoint" in err and "corrupt or not a checkpoint" in err
    empty = tmp_path / "empty_run"
    empty.mkdir()
    err = run_script_error(["--policy", str(empty), "--ticks", "5"], capsys)
    assert "cannot load this checkpoint" in err and "no ckpt_*.npz" in err
    assert not (tmp_path / "replay.html").exists()


def test_script_pretrained_and_scripted_names(monkeypatch, tmp_path, capsys):
    from policies import scripted
    monkeypatch.setattr(replay_script, "pretrained_path",
                        lambda: tmp_path / "pretrained" / "default.npz")
    err = run_script_error(["--policy", "pretrained"], capsys)
    assert "no pretrained checkpoint at" in err and str(tmp_path / "pretrained") in err
    monkeypatch.delattr(scripted, "forager", raising=False)
    monkeypatch.delattr(scripted, "forager_policy", raising=False)
    err = run_script_error(["--policy", "forager"], capsys)
    assert "policies/scripted.py has no function 'forager'" in err
    assert replay_script.scripted_policy("random") is random_policy
    err = run_script_error(["--policy", "random", "--ticks", "0"], capsys)
    assert "--ticks must be >= 1" in err


