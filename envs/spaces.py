"""What goes in and out of the dict APIs: one agent's spaces and the checks on actions and seeds.

`observation_space(config)` and `action_space(config)` are the one
definition of what an agent sees and does; MultiAgentEnv uses them as they
are, ParallelEnv converts them to gymnasium spaces. `check_action` is the one
validator of an agent's action and `check_seed` of a seed, for both.

The spaces are minimal pure-JAX ones in the gymnax/JaxMARL style
(`sample(key)`, `contains(x)`; no gymnasium), so `MultiAgentEnv` works
without the optional extras and a sample can be drawn inside jit.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import nmmo_jax as nj

from .per_agent import ACTION_FIELDS, action_sizes, obs_shapes

# The largest seed that reaches the key whole: jax.random.PRNGKey keeps 32 bits of it.
MAX_SEED = 2 ** 32 - 1


class Space:
    """Base class: a set of values with a shape and dtype."""

    shape: tuple[int, ...]
    dtype: Any

    def sample(self, key: jax.Array) -> Any:
        raise NotImplementedError

    def contains(self, x: Any) -> jnp.ndarray:
        raise NotImplementedError


class Discrete(Space):
    """Integers 0 .. n-1 (scalar)."""

    def __init__(self, n: int, dtype=jnp.int32):
        if n < 1:
            raise ValueError(f"Discrete n={n}: must be >= 1")
        self.n, self.shape, self.dtype = int(n), (), dtype

    def sample(self, key: jax.Array) -> jnp.ndarray:
        return jax.random.randint(key, (), 0, self.n, self.dtype)

    def contains(self, x) -> jnp.ndarray:
        x = jnp.asarray(x)
        return (x.shape == ()) & (x >= 0) & (x < self.n)

    def __repr__(self) -> str:
        return f"Discrete({self.n})"


class MultiDiscrete(Space):
    """A vector whose entry i is an integer in 0 .. nvec[i]-1."""

    def __init__(self, nvec, dtype=jnp.int32):
        self.nvec = np.asarray(nvec, np.int32)
        if self.nvec.ndim != 1 or (self.nvec < 1).any():
            raise ValueError(f"MultiDiscrete nvec={nvec!r}: must be a vector of sizes >= 1")
        self.shape, self.dtype = self.nvec.shape, dtype

    def sample(self, key: jax.Array) -> jnp.ndarray:
        return jax.random.randint(key, self.shape, 0, jnp.asarray(self.nvec), self.dtype)

    def contains(self, x) -> jnp.ndarray:
        x = jnp.asarray(x)
        if x.shape != self.shape:
            return jnp.asarray(False)
        return jnp.all((x >= 0) & (x < jnp.asarray(self.nvec)))

    def __repr__(self) -> str:
        return f"MultiDiscrete({self.nvec.tolist()})"


class Box(Space):
    """Arrays of a fixed shape with entries in [low, high] (bool boxes: any bool)."""

    def __init__(self, low, high, shape: tuple[int, ...], dtype=jnp.float32):
        self.low, self.high, self.shape, self.dtype = low, high, tuple(shape), dtype

    def sample(self, key: jax.Array) -> jnp.ndarray:
        if jnp.dtype(self.dtype) == jnp.bool_:
            return jax.random.bernoulli(key, 0.5, self.shape)
        if jnp.issubdtype(self.dtype, jnp.integer):
            return jax.random.randint(key, self.shape, self.low, self.high + 1, self.dtype)
        low = jnp.maximum(self.low, -1e6)  # infinite boxes sample from a wide finite range
        high = jnp.minimum(self.high, 1e6)
        return jax.random.uniform(key, self.shape, self.dtype, low, high)

    def contains(self, x) -> jnp.ndarray:
        x = jnp.asarray(x)
        if x.shape != self.shape:
            return jnp.asarray(False)
        return jnp.all((x >= self.low) & (x <= self.high))

    def __repr__(self) -> str:
        return f"Box({self.low}, {self.high}, {self.shape}, {jnp.dtype(self.dtype).name})"


class Dict(Space):
    """A dict of named sub-spaces; samples and members are dicts with the same keys."""

    def __init__(self, spaces: dict[str, Space]):
        self.spaces = dict(spaces)
        self.shape, self.dtype = (), None

    def sample(self, key: jax.Array) -> dict:
        keys = jax.random.split(key, len(self.spaces))
        return {name: space.sample(k) for (name, space), k in zip(self.spaces.items(), keys)}

    def contains(self, x) -> jnp.ndarray:
        if not isinstance(x, dict) or set(x) != set(self.spaces):
            return jnp.asarray(False)
        return jnp.all(jnp.stack([space.contains(x[n]) for n, space in self.spaces.items()]))

    def __getitem__(self, name: str) -> Space:
        return self.spaces[name]

    def __repr__(self) -> str:
        return "Dict(" + ", ".join(f"{n}: {s!r}" for n, s in self.spaces.items()) + ")"


# ----------------------------------------------------------------- one agent's spaces
def observation_space(config: nj.Config) -> Dict:
    """Dict space of one agent's observation (fields and shapes: envs.per_agent)."""
    nj.check_no_items(config, "observation_space")
    shapes = obs_shapes(config)
    box = lambda name, low, high, dtype: Box(low, high, shapes[name], dtype)
    return Dict({
        "tiles": box("tiles", 0, nj.NUM_TILE_TYPES - 1, jnp.int8),
        "tile_agents": box("tile_agents", 0, 127, jnp.int8),
        "entities": box("entities", -jnp.inf, jnp.inf, jnp.float32),
        "entity_mask": box("entity_mask", 0, 1, jnp.bool_),
        "move_mask": box("move_mask", 0, 1, jnp.bool_),
        "target_mask": box("target_mask", 0, 1, jnp.bool_),
    })


def action_space(config: nj.Config) -> MultiDiscrete:
    """MultiDiscrete([5, 3, K]): move, style, target row."""
    return MultiDiscrete(action_sizes(config))


# ----------------------------------------------------------------- checks at the boundary
_EXPECTED = "expected 3 integers (move, style, target)"


def check_action(agent: str, action: Any, sizes: tuple[int, int, int], check_range: bool):
    """One agent's action as an integer array [3]; ValueError naming the agent and field.

    Accepts anything array-like of 3 integers, traced values included (so it
    runs inside jit and vmap). check_range: also refuse values outside the
    action space (needs concrete values; the dict API under jit leaves them
    to the core, which treats them as stay / no attack).
    """
    where = f"action for agent {agent!r}"
    if action is None or isinstance(action, (str, bytes, Mapping)):
        raise ValueError(f"{where}: {_EXPECTED}, got {type(action).__name__} {action!r:.40}")
    if isinstance(action, jax.Array):
        value = action  # possibly a tracer: only its shape and dtype are known
    else:
        try:
            value = np.asarray(action)
        except (ValueError, TypeError) as e:  # ragged nesting
            raise ValueError(f"{where}: {_EXPECTED}, got {action!r:.60}") from e
    if value.shape != (3,):
        raise ValueError(f"{where}: {_EXPECTED}, got shape {value.shape}")
    if not jnp.issubdtype(value.dtype, jnp.integer):
        if value.dtype == object:  # name the first entry that is not an integer
            for field, v in zip(ACTION_FIELDS, value):
                if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                    raise ValueError(f"{where}: {field}={v!r:.40} is not an integer")
        raise ValueError(f"{where}: {_EXPECTED}, got dtype {value.dtype}")
    if check_range:
        for i, (field, size) in enumerate(zip(ACTION_FIELDS, sizes)):
            if not 0 <= value[i] < size:
                raise ValueError(f"{where}: {field}={int(value[i])} outside the action space "
                                 f"0..{size - 1}")
    return value


def check_seed(seed: Any, name: str = "seed") -> int:
    """The seed as an int in 0..MAX_SEED; ValueError naming `name` otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"{name}={seed!r}: must be an integer in 0..2**32-1")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name}={seed}: must be in 0..2**32-1 (a PRNGKey keeps 32 bits; "
                         "larger seeds would repeat smaller ones)")
    return int(seed)
