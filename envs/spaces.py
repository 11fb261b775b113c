"""Minimal JAX spaces in the gymnax/JaxMARL style: `sample(key)`, `contains(x)`.

Pure JAX (no gymnasium), so `MultiAgentEnv` works without the optional
extras and a sample can be drawn inside jit.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


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
