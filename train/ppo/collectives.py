"""Sums over the devices that share a run's worlds: the only communication of an update."""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from envs.batch import WORLDS


def world_sum(x: jnp.ndarray) -> jnp.ndarray:
    """x [...] summed over the devices of the "worlds" axis, the same bits on every device.

    With a power-of-two device count it is a butterfly: in round r each device
    adds the partial sum of the device whose index differs in bit r
    (`ppermute`), log2(devices) exchanges of one message each way; both
    partners add the same two numbers, so they hold the same bits after every
    round. Between processes this is what makes it cheap: gloo's all-reduce
    (`psum`) passes about a dozen messages per call, handed between threads and
    processes that wait their turn on busy cores (scripts/bench_collectives
    times both). Other device counts gather every share and add them in
    device order.
    """
    devices = jax.lax.axis_size(WORLDS)
    if devices & (devices - 1):
        return jax.lax.all_gather(x, WORLDS).sum(0)
    bit = 1
    while bit < devices:
        x = x + jax.lax.ppermute(x, WORLDS, [(i, i ^ bit) for i in range(devices)])
        bit <<= 1
    return x


def world_sum_flat(tree: Any) -> Any:
    """`tree` summed over the devices in one collective (one flat f32 buffer, not one
    per leaf: between processes each collective costs a network round trip)."""
    flat, unflatten = ravel_pytree(tree)
    return unflatten(world_sum(flat))
