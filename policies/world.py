"""What a policy may see of the game's numbers: the fields a run randomizes.

A policy trained on worlds whose numbers vary (`python -m train --randomize
... --sees-params`) gets each world's drawn values as inputs, so it can act
on them (stay nearer water where drinks restore little) instead of learning
one behaviour for the whole mixture. It sees only the randomized fields,
each scaled to [-1, 1] over its training range: a value outside the range
reads beyond +-1, a field that never varied is not an input at all.
"""
from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

import nmmo_jax as nj


@dataclass(frozen=True)
class WorldInputs:
    """The randomized numbers as inputs: one per varying element of each field
    (a damage pair gives one per varying element), in `nj.Params` field order.

    fields: the field of each input; index: its element (-1 for a scalar);
    low, high: its training range (low < high).
    """

    fields: tuple[str, ...]
    index: tuple[int, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]

    @classmethod
    def of(cls, ranges: nj.ParamRanges) -> "WorldInputs":
        """The inputs of a run's `--randomize` ranges; ValueError if nothing varies."""
        rows = []
        for name in nj.params.FIELDS:
            lo = np.atleast_1d(np.asarray(getattr(ranges.low, name), np.float64))
            hi = np.atleast_1d(np.asarray(getattr(ranges.high, name), np.float64))
            scalar = np.ndim(getattr(ranges.low, name)) == 0
            rows += [(name, -1 if scalar else i, float(a), float(b))
                     for i, (a, b) in enumerate(zip(lo, hi)) if a < b]
        if not rows:
            raise ValueError("WorldInputs: no field varies in the ranges (nothing to see)")
        return cls(*map(tuple, zip(*rows)))

    @property
    def size(self) -> int:
        return len(self.fields)

    def features(self, game: nj.Params) -> jnp.ndarray:
        """f32 [..., size]: each input 2 (value - low) / (high - low) - 1, of Params
        with any leading dims [...]."""
        cols = []
        for name, i in zip(self.fields, self.index):
            value = jnp.asarray(getattr(game, name), jnp.float32)
            cols.append(value if i < 0 else value[..., i])
        low, high = np.asarray(self.low, np.float32), np.asarray(self.high, np.float32)
        return 2.0 * (jnp.stack(cols, axis=-1) - low) / (high - low) - 1.0
