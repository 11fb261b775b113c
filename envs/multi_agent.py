"""JaxMARL-style dict API over one world: pure, jit- and vmap-safe.

    env = MultiAgentEnv(nmmo_jax.Config.small(), max_ticks=1024)
    obs, state = env.reset(key)                         # obs: {agent: {field: array}}
    obs, state, rewards, dones, infos = env.step(key, state, actions)

Agents are the world's slots, `env.agents = ["agent_0", ..., "agent_{A-1}"]`,
always all present (fixed shapes). A slot may be empty: its observation is
padding (entity_mask all False), its reward 0, and any action is ignored.
`dones[agent]` is True on the tick the slot's agent dies, or when a world
reset cuts its life short; the next agent spawned into that slot starts a
new episode. `dones["__all__"]` is True on the tick the world reaches
`max_ticks`; then `step` returns the first observation of a fresh world
(JaxMARL's auto-reset). infos holds arrays with a leading [A] axis: those
of `nmmo_jax.step`'s info plus truncated and world_reset, the same keys
whatever max_ticks and reset_state.

Actions: `actions[agent]` = int (move, style, target_row), see
envs/per_agent.py; `action_space(agent)` is MultiDiscrete([5, 3, K]). Each
is checked before the jitted step (envs.spaces.check_action: a ValueError
naming the agent and field); values outside the space are left to the core,
which treats them as stay / no attack.

The game's numbers are data, as gymnax's env params: `reset` and `step`
take `params` (a `nmmo_jax.Params`; None means `env.default_params`, the
constructor's params or else v1.3's), so one env vmaps over worlds that
each play with their own numbers:

    stacked = nmmo_jax.params.stack([params_a, params_b])     # Params [2]
    obs, states = jax.vmap(env.reset)(keys, stacked)
    out = jax.vmap(env.step)(keys, states, actions, params=stacked)

`step` keeps JaxMARL's `reset_state` as its fourth argument, so params is
its fifth (in_axes=(0, 0, 0, None, 0)) or passed by name as above.

As in JaxMARL, the step is jitted with the env static: envs with equal
config and max_ticks share the compiled code, whatever their params (data,
never read from the env inside jit). Under `jax.vmap` the auto-reset's
`lax.cond` becomes a select that generates a new map every tick; pass
`reset_state` (e.g. states from an earlier `reset`) to avoid that, or use
envs.batch with `max_ticks` for the array API.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import struct

import nmmo_jax as nj

from . import spaces
from .autoreset import autoreset_step, check_max_ticks, mark_world_end
from .per_agent import AGENT_OBS_FIELDS, rows_to_actions


# The core reset jitted as users jit it, so its compiled code is shared with theirs.
_core_reset = jax.jit(nj.reset, static_argnames="config")


@struct.dataclass
class MultiAgentState:
    """The world and its current observation (whose entity_slot maps target rows to slots)."""

    world: nj.State
    obs: nj.Obs


class MultiAgentEnv:
    """nmmo-jax behind the JaxMARL `MultiAgentEnv` interface (one world; vmap for more)."""

    name = "nmmo_jax"

    def __init__(self, config: nj.Config | None = None, max_ticks: int | None = 1024,
                 params: nj.Params | None = None):
        """params: this env's numbers (checked with `nmmo_jax.check_params`); None: v1.3's."""
        config = nj.Config() if config is None else config
        if not isinstance(config, nj.Config):
            raise ValueError(f"config={config!r}: must be a nmmo_jax.Config")
        check_max_ticks(max_ticks, config)
        if params is not None:
            nj.check_params(params, config)
        self.config, self.max_ticks = config, max_ticks
        self._params = nj.default_params(config) if params is None else params
        # None: the world persists up to config.max_tick (the last tick with unique uids)
        self._limit = config.max_tick if max_ticks is None else max_ticks
        self.num_agents = config.num_agents
        self.agents = [f"agent_{i}" for i in range(config.num_agents)]
        self._agent_set = frozenset(self.agents)
        self._obs_space = spaces.observation_space(config)
        self._action_space = spaces.action_space(config)

    # ------------------------------------------------------------------ spaces
    def _check_agent(self, agent: str) -> None:
        if agent not in self._agent_set:
            raise ValueError(f"agent {agent!r}: not one of env.agents (agent_0 .. "
                             f"agent_{self.num_agents - 1})")

    def observation_space(self, agent: str) -> spaces.Dict:
        """Dict space of one agent's observation (the same object for every agent)."""
        self._check_agent(agent)
        return self._obs_space

    def action_space(self, agent: str) -> spaces.MultiDiscrete:
        """MultiDiscrete([5, 3, K]): move, style, target row."""
        self._check_agent(agent)
        return self._action_space

    # ---------------------------------------------------------------- dynamics
    @property
    def default_params(self) -> nj.Params:
        """The numbers `reset` and `step` use when given none (as gymnax's env.default_params)."""
        return self._params

    def _params_or_own(self, params: nj.Params | None, values: bool = False) -> nj.Params:
        """params checked, or this env's own when None. Values are checked by `reset`
        only (outside jit and vmap); a step checks shapes, not every tick's values."""
        if params is None:
            return self._params
        nj.check_params(params, self.config, values=values)
        return params

    def get_obs(self, state: MultiAgentState) -> dict:
        """{agent: {field: array}} for every slot (shapes: envs.per_agent.obs_shapes)."""
        return self._split_obs(state.obs)

    @functools.partial(jax.jit, static_argnums=0)
    def _split_obs(self, obs: nj.Obs) -> dict:
        # One compiled call rather than A * 6 eager slices when used outside jit.
        return {name: {f: getattr(obs, f)[i] for f in AGENT_OBS_FIELDS}
                for i, name in enumerate(self.agents)}

    def get_avail_actions(self, state: MultiAgentState) -> dict:
        """{agent: {"move": bool [5], "style": bool [3], "target": bool [3, K]}}.

        target[s, j] says whether row j is a valid target for style s (row 0,
        no attack, always is). An empty slot has only stay / no attack.
        """
        style = jnp.ones((nj.NUM_STYLES,), jnp.bool_)
        return {name: {"move": state.obs.move_mask[i], "style": style,
                       "target": state.obs.target_mask[i]}
                for i, name in enumerate(self.agents)}

    def reset(self, key: jax.Array, params: nj.Params | None = None
              ) -> tuple[dict, MultiAgentState]:
        """A new world at tick 0 with the numbers `params` (None: `default_params`).
        Returns (obs dict, state)."""
        obs, world = _core_reset(key, self.config, self._params_or_own(params, values=True))
        state = MultiAgentState(world=world, obs=obs)
        return self.get_obs(state), state

    def _check_actions(self, actions: dict) -> dict:
        """The actions with every agent's checked (arrays or tracers, shape [3], integer)."""
        if not isinstance(actions, dict):
            raise ValueError(f"actions: expected a dict {{agent: action}}, got "
                             f"{type(actions).__name__}")
        unknown = set(actions) - self._agent_set
        if unknown:
            raise ValueError(f"actions: unknown agent {sorted(map(str, unknown))[0]!r}")
        missing = [name for name in self.agents if name not in actions]
        if missing:
            raise ValueError(f"actions: no action for agent {missing[0]!r} (every slot needs "
                             "one; an empty slot ignores it)")
        sizes = self._action_space.nvec
        return {name: spaces.check_action(name, actions[name], sizes, check_range=False)
                for name in self.agents}

    def _stack(self, actions: dict) -> jnp.ndarray:
        """Checked actions -> int32 [A, 3] in slot order."""
        return jnp.stack([jnp.asarray(actions[name], jnp.int32) for name in self.agents])

    def _outputs(self, obs: nj.Obs, world: nj.State, reward: jnp.ndarray,
                 done: jnp.ndarray, info: dict) -> tuple[dict, MultiAgentState, dict, dict, dict]:
        """Core step outputs -> the dict API's (obs, state, rewards, dones, infos)."""
        info = {k: v for k, v in info.items() if k != "terminal_obs"}  # infos stay [A]-shaped
        world_reset = info["world_reset"]
        info["world_reset"] = jnp.broadcast_to(world_reset, done.shape)
        state = MultiAgentState(world=world, obs=obs)
        rewards = {name: reward[i] for i, name in enumerate(self.agents)}
        dones = {name: done[i] for i, name in enumerate(self.agents)}
        dones["__all__"] = world_reset
        return self.get_obs(state), state, rewards, dones, info

    def step_env(self, key: jax.Array, state: MultiAgentState, actions: dict,
                 params: nj.Params | None = None
                 ) -> tuple[dict, MultiAgentState, dict, dict, dict]:
        """One tick without the auto-reset (the world may stand at max_ticks)."""
        return self._step_env(key, state, self._check_actions(actions),
                              self._params_or_own(params))

    @functools.partial(jax.jit, static_argnums=0)
    def _step_env(self, key, state, actions, params):
        core_actions = rows_to_actions(self._stack(actions), state.obs.entity_slot)
        obs, world, reward, done, info = nj.step(key, state.world, core_actions, self.config,
                                                 params)
        done, info = mark_world_end(obs, world, done, info, self._limit)
        return self._outputs(obs, world, reward, done, info)

    def step(self, key: jax.Array, state: MultiAgentState, actions: dict,
             reset_state: MultiAgentState | None = None, params: nj.Params | None = None
             ) -> tuple[dict, MultiAgentState, dict, dict, dict]:
        """One tick; on dones["__all__"] the returned obs and state are a fresh world's.

        Returns (obs {agent: {field}}, state, rewards {agent: f32}, dones
        {agent: bool, "__all__": bool}, infos {name: [A] array}). The fresh
        world is `reset(fold_in(key, 1), params)` as in envs.autoreset, or
        `reset_state` when given (so a vmapped caller can avoid generating a
        map every tick). params: the numbers of this tick and of the fresh
        world (None: `default_params`).
        """
        return self._step(key, state, self._check_actions(actions), reset_state,
                          self._params_or_own(params))

    @functools.partial(jax.jit, static_argnums=0)
    def _step(self, key, state, actions, reset_state, params):
        if reset_state is not None:
            _, stepped, rewards, dones, infos = self._step_env(key, state, actions, params)
            state = jax.tree.map(lambda new, old: jnp.where(dones["__all__"], new, old),
                                 reset_state, stepped)
            return self.get_obs(state), state, rewards, dones, infos
        core_actions = rows_to_actions(self._stack(actions), state.obs.entity_slot)
        out = autoreset_step(key, state.world, core_actions, self.config, self._limit, params)
        return self._outputs(*out)

    # step is jitted with the env static (as in JaxMARL): equal settings share its compiled code.
    def __hash__(self) -> int:
        return hash((type(self), self.config, self.max_ticks))

    def __eq__(self, other) -> bool:
        return (type(other) is type(self) and other.config == self.config
                and other.max_ticks == self.max_ticks)
