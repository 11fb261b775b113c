"""The replay recorder, the HTML writer, GIF/PNG output and scripts/replay.py."""
from __future__ import annotations

import base64
import functools
import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

import nmmo_jax as nj
from envs.replay import (AGENT_COLUMNS, DIED, SPAWNED, Recording, record, replay_data, to_html,
                         write_gif, write_html, write_pngs)
from nmmo_jax.render import TILE_COLORS
from policies.scripted import random_policy
from scripts import replay as replay_script
from tests.conftest import scene

SMALL = nj.Config.small()
TICKS, SEED = 40, 3


@functools.lru_cache(maxsize=1)
def small_recording() -> Recording:
    """random_policy on Config.small() for 40 ticks (also used by the browser test)."""
    return record(random_policy, SMALL, TICKS, SEED, name="random")


def unpack(p: dict) -> np.ndarray:
    """Decode the viewer's packed arrays the way the page does."""
    dtypes = {"u1": "<u1", "i1": "<i1", "u2": "<u2", "i2": "<i2", "u4": "<u4", "i4": "<i4"}
    return np.frombuffer(base64.b64decode(p["b"]), dtypes[p["t"]])
