"""A bitonic sorting network along one axis (power-of-two length).

On CPU, `jnp.sort` and `lax.top_k` lower to a generic comparison sort that
runs row by row; a fixed network of min/max stages is plain vectorised
elementwise work instead (docs/performance.md, "Sorting on CPU").
Sorting along a major axis (`axis=0` with many columns) keeps every stage a
min/max of whole contiguous rows.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def _stage(x: jnp.ndarray, block: int, span: int) -> jnp.ndarray:
    """One compare-exchange stage on x [pre, n, post]: element i meets i ^ span;
    blocks of `block` alternate ascending / descending (the last merge ascends)."""
    pre, n, post = x.shape
    pairs = x.reshape(pre, n // (2 * span), 2, span, post)
    lo, hi = pairs[:, :, 0], pairs[:, :, 1]
    first = np.arange(n).reshape(n // (2 * span), 2, span)[:, 0, :]
    ascending = jnp.asarray(((first & block) == 0)[None, :, :, None])
    small, large = jnp.minimum(lo, hi), jnp.maximum(lo, hi)
    new_lo = jnp.where(ascending, small, large)
    new_hi = jnp.where(ascending, large, small)
    return jnp.stack([new_lo, new_hi], axis=2).reshape(pre, n, post)


def bitonic_sort(x: jnp.ndarray, axis: int = -1) -> jnp.ndarray:
    """Ascending sort of x along `axis`, whose length must be a power of two."""
    axis = axis % x.ndim
    n = x.shape[axis]
    if n & (n - 1):
        raise ValueError(f"bitonic_sort: axis {axis} has length {n}, not a power of two")
    shape = x.shape
    x = x.reshape(int(np.prod(shape[:axis], dtype=int)), n, int(np.prod(shape[axis + 1:], dtype=int)))
    block = 2
    while block <= n:
        span = block // 2
        while span >= 1:
            x = _stage(x, block, span)
            span //= 2
        block *= 2
    return x.reshape(shape)
