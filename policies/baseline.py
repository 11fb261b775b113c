"""The actor-critic baseline: Input -> MLP -> Output + value, one parameter set per population.

Slot i belongs to population i % P (docs/rules.md §3.1), so reshaping the
agent axis A -> (A // P, P) puts each population in its own column; `apply`
vmaps the network over that column with the stacked parameters (no per-agent
gather of parameters). `shared=True` keeps one parameter set for everybody.
The observation goes through `prepare` (no parameters, no gradient) first;
PPO calls `prepare` once per tick and `apply_inputs` on what it stored.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

import nmmo_jax as nj
from nmmo_jax import Obs

from .io import ActionDist, Input, Inputs, Output, prepare, to_actions
from .world import WorldInputs

Params = Any


class Network(nn.Module):
    """One population's actor-critic on input rows with any leading dims.

    Inputs [..., A', ...] -> (ActionDist [..., A', ...], value f32 [..., A']).
    """

    config: nj.Config
    width: int = 32
    entity_dim: int = 16
    navigation: bool = True

    @nn.compact
    def __call__(self, inputs: Inputs) -> tuple[ActionDist, jnp.ndarray]:
        hidden, emb, items = Input(self.config, self.width, self.entity_dim, self.navigation,
                                   name="input")(inputs)
        hidden = nn.relu(nn.Dense(self.width, name="mlp")(hidden))
        return Output(value_head=True, name="output")(hidden, emb, inputs.move_mask,
                                                      inputs.target_mask, items, inputs.use_mask,
                                                      inputs.destroy_mask)


def _check_int(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"ActorCritic {name}={value!r}: must be an integer >= {low}")


class ActorCritic:
    """Per-population (or shared) actor-critic over one or many worlds.

    init(key, obs [A, ...]) -> params (leaves with leading axis P unless shared);
    apply(params, obs [..., A, ...]) -> (ActionDist [..., A, ...], value f32 [..., A]);
    the same as apply_inputs(params, prepare(obs)). `navigation` adds the
    shortest paths to food and water (`policies.navigation`) to the inputs;
    `world_inputs` the numbers of each world's game (`policies.world`): then
    prepare, apply and policy_fn take them as `game`, Params with the obs'
    leading dims before A (or fewer: one set for all).
    """

    def __init__(self, config: nj.Config, width: int = 32, shared: bool = False,
                 entity_dim: int = 16, navigation: bool = True,
                 world_inputs: WorldInputs | None = None) -> None:
        _check_int("width", width, 1)
        _check_int("entity_dim", entity_dim, 1)
        if not shared and config.num_agents % config.num_populations:
            raise ValueError(
                f"ActorCritic: Config.num_populations={config.num_populations} must divide "
                f"num_agents={config.num_agents} for per-population parameters (or use shared=True)")
        self.config, self.width, self.shared = config, width, bool(shared)
        self.navigation = bool(navigation)
        self.world_inputs = world_inputs
        self.populations = 1 if shared else config.num_populations
        self.net = Network(config, width, entity_dim, self.navigation)

    # ------------------------------------------------------------------ checks
    def _agent_axis(self, obs: Obs | Inputs) -> tuple[int, ...]:
        """Leading batch dims of obs; raises if the agent axis has the wrong size."""
        shape = obs.move_mask.shape
        if len(shape) < 2 or shape[-1] != nj.NUM_MOVES or shape[-2] != self.config.num_agents:
            raise ValueError(f"obs.move_mask has shape {shape}: expected [..., "
                             f"num_agents={self.config.num_agents}, {nj.NUM_MOVES}]")
        return shape[:-2]

    # ------------------------------------------------------------------ API
    # Each entry point checks shapes, then runs one compiled program (cached per
    # model and shapes): called eagerly, the network would dispatch hundreds of
    # small ops one by one; inside the trainer's jit the programs inline.
    def init(self, key: jax.Array, obs: Obs) -> Params:
        """Fresh parameters from one world's observation [A, ...] (only its shapes matter)."""
        if self._agent_axis(obs):
            raise ValueError(f"ActorCritic.init wants ONE world's obs [A, ...]; "
                             f"obs.move_mask has shape {obs.move_mask.shape}")
        return self._compiled["init"](key, obs)

    def prepare(self, obs: Obs, game: nj.Params | None = None) -> Inputs:
        """The network's Inputs of obs [..., A, ...] (nothing to differentiate); with
        world_inputs, of the worlds' numbers `game` too (None: v1.3's)."""
        self._agent_axis(obs)
        return self._compiled["prepare"](obs, game)

    def apply(self, params: Params, obs: Obs, game: nj.Params | None = None
              ) -> tuple[ActionDist, jnp.ndarray]:
        """Every agent with its population's parameters; obs [..., A, ...] (and, with
        world_inputs, the worlds' numbers `game`; None: v1.3's).

        Returns ActionDist (move [..., A, 5], style [..., A, 3], target
        [..., A, 3, K]) and value f32 [..., A].
        """
        return self.apply_inputs(params, self.prepare(obs, game))

    def apply_inputs(self, params: Params, inputs: Inputs) -> tuple[ActionDist, jnp.ndarray]:
        """`apply` on inputs [..., A, ...] that `prepare` made."""
        self._agent_axis(inputs)
        return self._compiled["apply_inputs"](params, inputs)

    @functools.cached_property
    def _compiled(self) -> dict[str, Callable]:
        return {"init": jax.jit(self._init), "prepare": jax.jit(self._prepare),
                "apply_inputs": jax.jit(self._apply_inputs)}

    def _init(self, key: jax.Array, obs: Obs) -> Params:
        inputs = self._prepare(obs, nj.default_params(self.config))
        if self.shared:
            return self.net.init(key, inputs)
        keys = jax.random.split(key, self.populations)
        # lax.map, not vmap: same values, half the compile time (vmapped RNG is costly to compile).
        return jax.lax.map(lambda k: self.net.init(k, inputs), keys)

    def _prepare(self, obs: Obs, game: nj.Params | None) -> Inputs:
        inputs = prepare(obs, self.config, self.navigation)
        if self.world_inputs is None:
            return inputs
        lead = obs.move_mask.shape[:-2]
        seen = self.world_inputs.features(nj.params.resolve(game, self.config))  # [..., F]
        return inputs.replace(world=jnp.broadcast_to(
            seen[..., None, :], lead + (self.config.num_agents, self.world_inputs.size)))

    def _apply_inputs(self, params: Params, inputs: Inputs) -> tuple[ActionDist, jnp.ndarray]:
        if self.shared:
            return self.net.apply(params, inputs)
        lead = inputs.move_mask.shape[:-2]
        p, a, axis = self.populations, self.config.num_agents, len(lead) + 1
        # [..., A, *F] -> [..., A/P, P, *F]: slot i = (i // P) * P + (i % P), column = population.
        split = jax.tree.map(lambda x: x.reshape(lead + (a // p, p) + x.shape[len(lead) + 1:]),
                             inputs)
        dist, value = jax.vmap(self.net.apply, in_axes=(0, axis), out_axes=axis)(params, split)
        merge = lambda x: x.reshape(lead + (a,) + x.shape[len(lead) + 2:])
        return jax.tree.map(merge, dist), merge(value)

    def num_params(self, params: Params) -> int:
        """Total number of parameters (all populations together)."""
        return int(sum(np.prod(x.shape) for x in jax.tree.leaves(params)))

    def describe(self, params: Params) -> str:
        """A small table of parameter counts per layer (per population), for logs."""
        per = lambda tree: sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree)) // self.populations
        lines = [f"ActorCritic width={self.width}, "
                 f"{'shared' if self.shared else f'{self.populations} populations'}, "
                 f"navigation {'on' if self.navigation else 'off'}"
                 + (f", sees {', '.join(dict.fromkeys(self.world_inputs.fields))}"
                    if self.world_inputs else "")]

        def walk(tree, name, depth):
            lines.append(f"{'  ' * depth}{name:<{22 - 2 * depth}} {per(tree):>8,}")
            for child, sub in tree.items():
                if isinstance(sub, dict) and any(isinstance(x, dict) for x in sub.values()):
                    walk(sub, child, depth + 1)  # a module with sub-modules
                elif isinstance(sub, dict):
                    lines.append(f"{'  ' * (depth + 1)}{child:<{20 - 2 * depth}} {per(sub):>8,}")

        for block, tree in params["params"].items():
            walk(tree, block, 1) if isinstance(tree, dict) else None
        lines.append(f"  {'per population':<20} {per(params):>8,}")
        lines.append(f"  {'total':<20} {self.num_params(params):>8,}")
        return "\n".join(lines)

    def policy_fn(self, params: Params, game: nj.Params | None = None
                  ) -> Callable[[jax.Array, Obs], nj.Actions]:
        """(key, obs [A, ...]) -> Actions: sample and map rows to slots, like scripted
        policies; in worlds playing the numbers `game` (None: v1.3's), which only a
        model with world_inputs reads."""

        def policy(key: jax.Array, obs: Obs) -> nj.Actions:
            dist, _ = self.apply(params, obs, game)
            return to_actions(dist.sample(key), obs)

        return policy
