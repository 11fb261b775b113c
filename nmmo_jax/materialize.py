"""Force XLA to compute an array once into memory before many gathers read it.

XLA fuses cheap elementwise producers into the gathers that read them and
then recomputes the producer for every gathered element: a window crop of a
freshly regrown map re-hashed each of the 225 cells of every observer's
window, and entity rows re-derived levels per listed agent. On CPU
`lax.optimization_barrier` is removed before fusion, but a scatter is a
fusion boundary that the simplifier keeps, so scattering x's first row onto
x itself makes the array a real buffer. The scatter's operand costs one pass
(XLA copies x, or for a cheap producer such as a transpose computes it a
second time) and the update one row; scattering every row onto x costs a
loop over the rows as well, and scattering onto a zero buffer a pass
writing the zeros (docs/performance.md). Keep the producers cheap: one
computed twice would cost twice.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def materialize(x: jnp.ndarray) -> jnp.ndarray:
    """x itself (same values), computed into a buffer of its own."""
    if x.ndim == 0 or x.shape[0] == 0:  # nothing to compute (no row to scatter)
        return x
    return x.at[0].set(x[0])


def materialize_tree(tree):
    """`materialize` on every array leaf of a pytree."""
    return jax.tree.map(materialize, tree)
