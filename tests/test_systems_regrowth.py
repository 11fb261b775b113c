"""Forest regrowth (docs/rules.md §3.8)."""
import numpy as np

import nmmo_jax as nj
from tests.conftest import SCENE, act, run, scene


def test_regrowth_rate():
    cfg = nj.Config.small(spawn_per_tick=0, map_size=64)
    s = scene([], config=cfg, fill=nj.SCRUB)
    _, s, *_ = run(s, act(cfg), config=cfg)
    rate = float(np.mean(np.asarray(s.tiles) == nj.FOREST))
    assert abs(rate - 0.025) < 0.008, rate  # 4096 tiles: std about 0.0024
