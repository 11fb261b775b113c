"""PettingZoo `ParallelEnv` over one nmmo-jax world: numpy in, numpy out.

    env = envs.ParallelEnv(nmmo_jax.Config.small(), seed=0)
    obs, infos = env.reset()
    while env.agents:
        actions = {a: env.action_space(a).sample() for a in env.agents}
        obs, rewards, terminations, truncations, infos = env.step(actions)

Agents are lives, not slots. The world is persistent: an agent that dies is
terminated, and a new agent later spawns into its empty slot. PettingZoo
forbids a terminated agent coming back within an episode, so every life gets
a fresh name in spawn order: "agent_0" is the first agent to enter the world
after reset, "agent_1" the second (ties within a tick by slot), and so on;
`infos[agent]["slot"]` says which slot it occupies. A newly spawned agent
appears in the dicts returned by the step that spawned it and in
`env.agents` from then on; one that spawns and ends in the same tick (killed
on arrival, or spawned on the last tick) never acted and is not reported.
At tick `max_ticks` every living agent is truncated and the episode ends
(call reset). `possible_agents` lists every name an episode could use,
spawn_per_tick * (max_ticks + 1); most episodes use fewer.

Observation of an agent: Dict of tiles, tile_agents (int8 [V, V]),
entities (float32 [K, F]) and the masks entity_mask [K], move_mask [5],
target_mask [3, K] (int8 0/1). Action: MultiDiscrete([5, 3, K]) = (move,
style, target_row), see envs/per_agent.py. Both are envs.spaces' spaces,
the ones MultiAgentEnv uses, in gymnasium form. A living agent without an
action stays and does not attack. An action outside the action space, or
for an agent that is not alive, raises ValueError naming the agent and the
field (envs.spaces.check_action), and the world (and its random stream) is
left unchanged. Seeds are integers in 0..2**32-1 (envs.spaces.check_seed).

The game's numbers: `params`, a `nmmo_jax.Params` or a dict {field: value}
of changes to v1.3's (`nmmo_jax.default_params`), checked when the env is
made (a ValueError naming the field) and used by every reset and step:

    env = envs.ParallelEnv(config, params={"food_decay": 2, "melee_damage": (5, 60)})

This module imports gymnasium and pettingzoo (the optional extra
`nmmo-jax[pettingzoo]`); `envs` loads it only when ParallelEnv is asked for.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium
import jax
import numpy as np
import pettingzoo

import nmmo_jax as nj
from viz.draw import render

from . import spaces
from .autoreset import check_max_ticks
from .per_agent import AGENT_OBS_FIELDS, rows_to_actions


# Jitted exactly as users and tests jit the core, so one compile per config serves all.
_reset = jax.jit(nj.reset, static_argnames="config")
_step = jax.jit(nj.step, static_argnames="config")
_to_actions = jax.jit(rows_to_actions)


class ParallelEnv(pettingzoo.ParallelEnv):
    """nmmo-jax as a PettingZoo ParallelEnv (one world, numpy in and out)."""

    metadata = {"name": "nmmo_jax_v0", "render_modes": ["rgb_array"],
                "is_parallelizable": True}

    def __init__(self, config: nj.Config | None = None, seed: int | None = None,
                 max_ticks: int = 1024, render_mode: str | None = None, render_scale: int = 4,
                 params: nj.Params | Mapping[str, Any] | None = None):
        config = nj.Config() if config is None else config
        if not isinstance(config, nj.Config):
            raise ValueError(f"config={config!r}: must be a nmmo_jax.Config")
        self.params = _checked_params(params, config)
        if not isinstance(max_ticks, int) or isinstance(max_ticks, bool) or max_ticks < 1:
            raise ValueError(f"max_ticks={max_ticks!r}: must be an integer >= 1")
        check_max_ticks(max_ticks, config)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}: must be None or 'rgb_array'")
        if not isinstance(render_scale, int) or render_scale < 1:
            raise ValueError(f"render_scale={render_scale!r}: must be an integer >= 1")
        self._seed = None if seed is None else spaces.check_seed(seed)
        self.config, self.max_ticks = config, max_ticks
        self.render_mode, self.render_scale = render_mode, render_scale
        self.possible_agents = [f"agent_{n}" for n in
                                range(config.spawn_per_tick * (max_ticks + 1))]
        self._possible = frozenset(self.possible_agents)
        self._obs_space = _to_gymnasium(spaces.observation_space(config))
        self._action_space = _to_gymnasium(spaces.action_space(config))
        if seed is not None:
            self._obs_space.seed(seed)
            self._action_space.seed(seed)
        self.agents: list[str] = []
        self._key = None
        self._state: nj.State | None = None
        self._obs: nj.Obs | None = None
        self._slot_of: dict[str, int] = {}  # living agent -> its slot
        self._next_life = 0

    # ------------------------------------------------------------------ spaces
    def observation_space(self, agent: str) -> gymnasium.spaces.Dict:
        """The same Dict space object for every agent."""
        self._check_name(agent)
        return self._obs_space

    def action_space(self, agent: str) -> gymnasium.spaces.MultiDiscrete:
        """MultiDiscrete([5, 3, K]): move, style, target row (the same object for every agent)."""
        self._check_name(agent)
        return self._action_space

    def _check_name(self, agent: str) -> None:
        if agent not in self._possible:
            raise ValueError(f"agent {agent!r}: not in possible_agents (agent_0 .. "
                             f"agent_{len(self.possible_agents) - 1})")

    @property
    def world(self) -> nj.State:
        """The current core state (for inspection; stepping it does not move this env)."""
        if self._state is None:
            raise RuntimeError("call reset() first")
        return self._state

    # ---------------------------------------------------------------- episodes
    def reset(self, seed: int | None = None, options: dict | None = None
              ) -> tuple[dict[str, dict], dict[str, dict]]:
        """A new world. Returns (obs, infos) for the agents spawned at tick 0.

        With a seed the episode is a function of it; without one the random
        stream continues (from the constructor's seed, else from entropy).
        """
        if seed is not None:
            self._key = jax.random.PRNGKey(spaces.check_seed(seed))
        elif self._key is None:
            fresh = int(np.random.SeedSequence().generate_state(1)[0])  # a uint32
            self._key = jax.random.PRNGKey(fresh if self._seed is None else self._seed)
        self._key, k_reset = jax.random.split(self._key)
        obs, state = _reset(k_reset, self.config, self.params)
        self._slot_of, self._next_life, self.agents = {}, 0, []
        spawned = np.asarray(state.agents.alive)
        host = self._commit(obs, state)
        born = [self._name(s) for s in np.flatnonzero(spawned)]
        self.agents = born
        return ({n: self._agent_obs(host, self._slot_of[n]) for n in born},
                {n: _agent_info(self._slot_of[n]) for n in born})

    def step(self, actions: Mapping[str, Any]):
        """Advance one tick. Returns (obs, rewards, terminations, truncations, infos).

        The dicts hold the agents that acted plus those spawned this tick.
        infos[agent] = {"slot", "lifetime" (length of a life that ended this
        tick, else 0), "death_cause" ("none", "lava", "starvation", "combat")}.
        """
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if not self.agents:
            raise RuntimeError("the episode is over (no living agents): call reset()")
        rows = self._action_rows(actions)  # validates everything before touching the world
        key, k_step = jax.random.split(self._key)
        actions = _to_actions(rows, self._obs.entity_slot)
        obs, state, reward, done, info = _step(k_step, self._state, actions, self.config,
                                               self.params)
        self._key = key
        reward, done, info = jax.device_get((reward, done, info))
        before = list(self.agents)
        host = self._commit(obs, state)
        truncate = int(state.tick) >= self.max_ticks
        # A life that starts and ends within this tick never acted: it is not reported.
        born = [self._name(s) for s in np.flatnonzero(info["spawned"])
                if not (done[s] or truncate)]

        out_obs, rewards, terms, truncs, infos, living = {}, {}, {}, {}, {}, []
        for name in before + born:
            slot = self._slot_of[name]
            died = bool(done[slot])
            out_obs[name] = self._agent_obs(host, slot)
            rewards[name] = float(reward[slot])
            terms[name] = died
            truncs[name] = truncate and not died
            infos[name] = _agent_info(slot, int(info["lifetime"][slot]),
                                      int(info["death_cause"][slot]))
            if died or truncate:
                del self._slot_of[name]
            else:
                living.append(name)
        self.agents = living
        return out_obs, rewards, terms, truncs, infos

    def render(self) -> np.ndarray | None:
        """uint8 [H * scale, W * scale, 3] when render_mode="rgb_array", else None."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() without render_mode: pass render_mode='rgb_array'")
            return None
        return render(jax.device_get(self.world), self.config, scale=self.render_scale)

    def close(self) -> None:
        pass

    # ----------------------------------------------------------------- helpers
    def _name(self, slot: int) -> str:
        """Give the agent just spawned into `slot` the next name."""
        name = f"agent_{self._next_life}"
        self._next_life += 1
        self._slot_of[name] = int(slot)
        return name

    def _commit(self, obs: nj.Obs, state: nj.State) -> dict[str, np.ndarray]:
        """Keep the new world; return its observation as numpy (masks as int8)."""
        self._state, self._obs = state, obs
        host = jax.device_get({f: getattr(obs, f) for f in AGENT_OBS_FIELDS})
        for f, space in self._obs_space.spaces.items():
            host[f] = host[f].astype(space.dtype)  # masks: PettingZoo's int8 0/1
        return host

    @staticmethod
    def _agent_obs(host: dict[str, np.ndarray], slot: int) -> dict[str, np.ndarray]:
        return {f: host[f][slot] for f in AGENT_OBS_FIELDS}

    def _action_rows(self, actions: Mapping[str, Any]) -> np.ndarray:
        """Validated actions as int32 [A, 3]; living agents without one stay, no attack."""
        if not isinstance(actions, Mapping):
            raise ValueError(f"actions: expected a dict {{agent: action}}, got {type(actions)}")
        rows = np.zeros((self.config.num_agents, 3), np.int32)
        for name, action in actions.items():
            slot = self._slot_of.get(name)
            if slot is None:
                why = ("is not alive (env.agents lists the living)" if name in self._possible
                       else "is not an agent of this env")
                raise ValueError(f"action for agent {name!r}: the agent {why}")
            value = spaces.check_action(name, action, self._action_space.nvec, check_range=True)
            rows[slot] = value
        return rows


def _checked_params(params: nj.Params | Mapping[str, Any] | None, config: nj.Config
                    ) -> nj.Params:
    """The env's numbers: v1.3's for None, changed by a dict {field: value}, or a
    Params as it is; ValueError "params: ..." naming the first bad field."""
    if not (params is None or isinstance(params, (Mapping, nj.Params))):
        raise ValueError(f"params: expected a nmmo_jax.Params or a dict {{field: value}}, "
                         f"got {type(params).__name__}")
    try:
        if isinstance(params, nj.Params):
            nj.check_params(params, config)
            return params
        return nj.default_params(config, **{str(name): v for name, v in (params or {}).items()})
    except ValueError as e:
        raise ValueError(f"params: {e}") from None


def _agent_info(slot: int, lifetime: int = 0, cause: int = nj.CAUSE_NONE) -> dict:
    """infos[agent]: the same keys at reset and at every step."""
    return {"slot": slot, "lifetime": lifetime, "death_cause": nj.CAUSE_NAMES[cause]}


def _to_gymnasium(space: spaces.Space) -> gymnasium.spaces.Space:
    """The gymnasium form of an envs.spaces space (bool boxes become MultiBinary)."""
    if isinstance(space, spaces.Dict):
        return gymnasium.spaces.Dict({n: _to_gymnasium(s) for n, s in space.spaces.items()})
    if isinstance(space, spaces.MultiDiscrete):
        return gymnasium.spaces.MultiDiscrete(space.nvec)
    if isinstance(space, spaces.Box) and np.dtype(space.dtype) == np.bool_:
        return gymnasium.spaces.MultiBinary(list(space.shape))
    if isinstance(space, spaces.Box):
        return gymnasium.spaces.Box(space.low, space.high, space.shape, np.dtype(space.dtype))
    raise ValueError(f"no gymnasium form for {space!r}")
