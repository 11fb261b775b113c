"""Cheap counter-based randomness for the step: a 32-bit hash of (seed, counter).

`jax.random` (threefry) costs far more on CPU than the rest of a tick for the
few hundred numbers a world needs (docs/performance.md, "Randomness on
CPU"), so the step hashes its key once into a 32-bit seed and draws every
number as hash(seed, stream, index).
Same key, same numbers: the step stays a pure function of its arguments.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

_GOLDEN = 0x9E3779B9

# Stream tags: every use of randomness draws from its own stream of a seed.
STREAM_SPAWN, STREAM_COMBAT, STREAM_REGROWTH = 11, 12, 13  # of the step's seed
STREAM_SPAWN_SLOTS, STREAM_SPAWN_CELLS = 1, 2  # of the spawn seed
# NPCs (docs/rules.md §9) draw only from their own stream, so turning them on
# changes none of the draws above.
STREAM_NPC = 14  # of the step's seed (of the reset key's seed in reset)
# Of the NPC seed: spawn cells, styles, wandering, the NPCs' hit rolls.
STREAM_NPC_CELLS, STREAM_NPC_STYLE, STREAM_NPC_WANDER, STREAM_NPC_HIT = 1, 2, 3, 4
# Items and professions (docs/rules.md §10) likewise: resource tiles at reset, drops,
# their regrowth.
STREAM_ITEMS = 15  # of the step's seed (of the reset key's seed in reset)
# Of the items seed: the kinds of an NPC's drops (armour, tool; docs/rules.md §10.7).
STREAM_DROP_ARMOR, STREAM_DROP_TOOL = 21, 22


def mix32(x: jnp.ndarray) -> jnp.ndarray:
    """A bijective avalanche mixer on uint32 (C. Wellons' "lowbias32")."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def seed_of(key: jax.Array) -> jnp.ndarray:
    """uint32 scalar seed from a PRNG key (raw uint32 [2] or typed), or a seed itself."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    words = jnp.asarray(key).astype(jnp.uint32).reshape(-1)
    if words.shape[0] == 1:
        return words[0]
    seed = jnp.uint32(0x243F6A88)
    for i in range(words.shape[0]):  # 2 words for threefry keys
        seed = mix32(seed ^ words[i] ^ jnp.uint32((i * _GOLDEN) & 0xFFFFFFFF))
    return seed


def stream(seed: jnp.ndarray, tag: int) -> jnp.ndarray:
    """An independent seed for one use of the randomness (tag: a STREAM_* constant)."""
    return mix32(seed ^ jnp.uint32((tag * _GOLDEN + 0x85EBCA6B) & 0xFFFFFFFF))


def bits(seed: jnp.ndarray, counter: jnp.ndarray) -> jnp.ndarray:
    """uint32 random bits for each counter value (any integer array)."""
    x = counter.astype(jnp.uint32) * jnp.uint32(_GOLDEN) ^ seed
    return mix32(mix32(x) + seed)


def threshold(prob: jnp.ndarray) -> jnp.ndarray:
    """uint32 t with P(bits < t) = prob for a float32 prob in [0, 1] (traced or not).

    The exact float32 value of prob times 2**32, rounded down: prob = 1 gives
    2**32 - 1, all but one of the 2**32 draws.
    """
    scaled = jnp.floor(jnp.asarray(prob, jnp.float32) * jnp.float32(2.0 ** 32))
    return jnp.where(scaled >= 2.0 ** 32, jnp.uint32(2 ** 32 - 1),
                     jnp.clip(scaled, 0.0, 2.0 ** 32 - 256).astype(jnp.uint32))


def uniform(seed: jnp.ndarray, counter: jnp.ndarray) -> jnp.ndarray:
    """float32 in [0, 1) with 24 random bits, one per counter value."""
    return (bits(seed, counter) >> 8).astype(jnp.float32) * (1.0 / (1 << 24))


def below(seed: jnp.ndarray, counter: jnp.ndarray, n: int) -> jnp.ndarray:
    """int32 uniform in [0, n) per counter value (n < 2**24; bias below n / 2**24)."""
    return jnp.minimum(jnp.floor(uniform(seed, counter) * n).astype(jnp.int32), n - 1)
