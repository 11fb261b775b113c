"""materialize (nmmo_jax/materialize.py): the same values, computed into a buffer of their own."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nmmo_jax.materialize import materialize, materialize_tree


@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (1,), (5, 4), (3, 0, 2)])
def test_same_values_for_every_shape_under_jit_and_vmap(shape):
    x = jnp.arange(int(np.prod(shape)), dtype=jnp.int32).reshape(shape) * 3 - 7
    np.testing.assert_array_equal(jax.jit(materialize)(x), x)
    batch = jnp.stack([x, x + 1])
    np.testing.assert_array_equal(jax.vmap(materialize)(batch), batch)


def test_a_fused_producer_keeps_its_values():
    # The producer (a transpose and an add) is what the scatter must not change.
    x = jax.random.randint(jax.random.PRNGKey(0), (6, 5), -100, 100)
    out = jax.jit(lambda a: materialize(a.T + 1)[::2])(x)
    np.testing.assert_array_equal(out, (x.T + 1)[::2])


def test_tree():
    tree = {"a": jnp.ones((2, 3)), "b": (jnp.zeros(0, bool), jnp.int32(4))}
    jax.tree.map(np.testing.assert_array_equal, materialize_tree(tree), tree)
