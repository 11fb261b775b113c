"""scripts/bench_peer_systems.py: the content sets, arguments, worker source and table
(no venv, no nmmo, no subprocess)."""
from __future__ import annotations

import json

import pytest

from scripts import bench_peer_systems as ps


def test_content_sets_grow_from_v13_to_default():
    names = [s[0] for s in ps.CONTENT_SETS]
    assert names[0] == "v1.3 content, 80x80" and names[-1].startswith("Default")
    systems = [set(s[1]) for s in ps.CONTENT_SETS]
    v13 = set(ps.V13_SYSTEMS)
    assert systems[0] == systems[1] == v13
    assert all(v13 <= s for s in systems)  # every set adds to v1.3's content
    # nmmo2's content is the Default short of the market and communication (docs/rules.md §10.10)
    nmmo2 = systems[names.index("nmmo2's content")]
    assert systems[-1] - nmmo2 == {"Exchange", "Communication"}
    assert nmmo2 == v13 | {"NPC", "Item", "Equipment", "Profession"}
    # v1.3's map (80, 9 lava rows a side) and nmmo's Medium map (160, centre 128)
    assert ps.CONTENT_SETS[0][2:] == (80, 62)
    assert all(s[2:] == (160, 128) for s in ps.CONTENT_SETS[1:])
    assert json.loads(json.dumps([list(s) for s in ps.CONTENT_SETS]))[2][1][-1] == "NPC"


def test_worker_is_valid_python_and_names_every_set_field():
    compile(ps.WORKER, "worker.py", "exec")
    for field in ("MAP_SIZE", "MAP_CENTER", "IMMORTAL", "paired_over_base", "ms_last100",
                  "_compute_rewards", "over_base_no_rewards"):
        assert field in ps.WORKER


def test_parse_args():
    args = ps.parse_args(["--core", "0"])
    assert args.ticks == 1000 and args.warmup == 5 and args.core == 0
    assert args.rebuild is False and args.python is None  # a working venv is reused
    for bad in (["--ticks", "50"], ["--warmup", "-1"]):
        with pytest.raises(SystemExit):
            ps.parse_args(bad)


def test_table():
    row = lambda name, ms, npcs: dict(name=name, map_size=160, npcs=npcs, ms_per_tick=ms,
                                      ms_rewards=20.0, ms_first100=ms - 5, ms_last100=ms + 5,
                                      over_base=ms / 40.0, paired_over_base=ms / 41.0,
                                      over_base_no_rewards=(ms - 20.0) / 20.0)
    lines = ps.format_table([row("v1.3 content, 80x80", 40.0, 0),
                             row("nmmo2's content", 60.0, 128)]).splitlines()
    assert len(lines) == 4 and len({len(x) for x in lines}) == 1  # aligned columns
    assert "1.00x" in lines[2] and "55.0 / 65.0" in lines[3] and "1.50x" in lines[3]
    assert "1.46x" in lines[3] and "128" in lines[3] and "20.0" in lines[3]
    assert lines[3].rstrip(" |").endswith("2.00x")  # (60 - 20) / (40 - 20)
