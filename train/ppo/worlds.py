"""The worlds PPO plays: how many, their shapes, when each is replaced and the game's numbers.

Without --params or --randomize the worlds step with `params=None`, v1.3's
numbers compiled in as constants. `fixed` (--params alone) passes the run's
`nj.Params` to every world. With `ranges` (--randomize) each world's numbers
are data that the Runner carries (`game`, Params [W], split over devices like
the worlds): world w draws them at the start from its reset key (`reset`) and
again each time it is replaced (`step`), so they are a function of the run's
key alone, whatever the number of devices.
"""
from __future__ import annotations

from dataclasses import dataclass

import jax

import nmmo_jax as nj
from envs.batch import batch_reset, step_worlds, world_keys, world_params_of


@dataclass(frozen=True)
class Worlds:
    """`count` worlds of shapes `env`, replaced by a fresh map at tick `max_ticks` (0: never)."""

    env: nj.Config
    count: int
    max_ticks: int = 0
    fixed: nj.Params | None = None  # --params' numbers for every world; None: v1.3's
    ranges: nj.ParamRanges | None = None  # --randomize: worlds draw from these at resets

    def params(self, game: nj.Params | None) -> nj.Params | None:
        """What the worlds step with: their own numbers `game` [W] when randomizing,
        else the fixed ones (None: v1.3's, compiled in)."""
        return game if self.ranges is not None else self.fixed

    def reset(self, key: jax.Array) -> tuple[nj.Obs, nj.State, nj.Params | None]:
        """(obs [W, A, ...], state [W], game): `count` new worlds. With ranges, world w
        first draws its numbers (game, Params [W]) from fold_in(its reset key,
        PARAMS_STREAM), as `step` draws them for a replaced world, then makes its map
        with them; game is None otherwise."""
        game = (None if self.ranges is None
                else world_params_of(jax.random.split(key, self.count), self.ranges))
        obs, state = batch_reset(key, self.env, self.count, params=self.params(game))
        return obs, state, game

    def step(self, key: jax.Array, state: nj.State, actions: nj.Actions,
             game: nj.Params | None) -> tuple[nj.Obs, nj.State, jax.Array, jax.Array, dict,
                                              nj.Params | None]:
        """One tick of this device's worlds (inside the trainer's shard_map; world w
        steps with key w): (obs, state, reward, done, info, game) as envs.batch's
        `step_worlds` returns them, game redrawn for the worlds replaced."""
        obs, state, reward, done, info = step_worlds(
            world_keys(key, self.count), state, actions, self.env,
            max_ticks=self.max_ticks or None, params=self.params(game), ranges=self.ranges)
        if self.ranges is not None:
            game = info["params"]  # replaced worlds drew new numbers
        return obs, state, reward, done, info, game
