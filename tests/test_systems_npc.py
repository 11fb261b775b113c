"""NPCs (docs/rules.md §9) on hand-built scenes: behaviours, spawn and level by
danger, respawn, XP, the death cause; jit, vmap, determinism, no re-trace."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax import rng
from nmmo_jax.systems.npc_spawn import (danger, npc_kind, npc_level, npc_spawn, ring_distance,
                                        square_ring_cell)
from policies.scripted import random_policy
from tests.conftest import act, jit_step, scene

NPC_SCENE = nj.Config.small(spawn_per_tick=0, num_npcs=4)  # 32x32, 16 agents, slots 16..19
A = NPC_SCENE.num_agents
# Hand-built scenes: no NPC spawns, every attack hits at equal levels (chance >= 1).
STILL = nj.default_params(NPC_SCENE, npc_spawn_attempts=0, hit_base=1.0)


def with_npcs(state: nj.State, npcs: list[dict], params: nj.Params = STILL) -> nj.State:
    """state with the given NPCs: each dict names its slot j and pos and may set
    any Npcs field; the others are a fresh level-1 passive melee NPC at full health."""
    n = jax.tree.map(np.array, state.npcs)
    for spec in npcs:
        spec = dict(spec)
        j = spec.pop("slot")
        n.alive[j], n.pos[j] = True, spec.pop("pos")
        n.kind[j], n.level[j], n.style[j] = nj.PASSIVE, 1, nj.MELEE
        n.health[j] = int(params.npc_health)
        n.target[j] = n.attacker[j] = -1
        for name, value in spec.items():
            getattr(n, name)[j] = value
    return state.replace(npcs=jax.tree.map(jnp.asarray, n))


def npc_scene(agents: list[dict], npcs: list[dict], tiles: dict | None = None,
              params: nj.Params = STILL) -> nj.State:
    return with_npcs(scene(agents, tiles, config=NPC_SCENE, params=params), npcs, params)


def step(state, actions=None, seed=0, params=STILL, config=NPC_SCENE):
    return jit_step(jax.random.PRNGKey(seed), state, actions or act(config), config, params)


def play(state, ticks, actions=None, params=STILL):
    """`ticks` steps; returns (state, infos) with the infos stacked per tick, and
    per tick the NPCs' positions and the agents' damage as npc_pos and damage."""
    infos = []
    for t in range(ticks):
        _, state, _, _, info = step(state, actions, seed=t, params=params)
        info = dict(info, npc_pos=state.npcs.pos, damage=state.agents.damage)
        infos.append(jax.tree.map(np.asarray, info))
    return state, jax.tree.map(lambda *x: np.stack(x), *infos)


# ----------------------------------------------------------------- behaviours
@pytest.mark.slow
def test_passive_never_attacks_and_wanders():
    params = STILL.replace(npc_health=np.int32(1000))  # survives 20 hits
    s = npc_scene([dict(slot=0, pos=(10, 10))], [dict(slot=0, pos=(10, 11))], params=params)
    s, info = play(s, 20, act(NPC_SCENE, target={0: A + 0}), params)  # hit it whenever in reach
    assert (info["npc_attack_target"][:, 0] == A + 0).all()  # never an attack
    assert not info["npc_attack_hit"].any() and (info["damage"][:, 0] == 0).all()
    assert info["attack_hit"][:, 0].sum() >= 3  # it was hit, and still never answered
    assert int(s.npcs.target[0]) == -1
    # It wanders: a step every tick (nothing blocks it on open grass).
    steps = np.abs(np.diff(info["npc_pos"][:, 0], axis=0)).sum(axis=-1)
    assert (steps == 1).all()


def test_neutral_attacks_back_its_attacker_only():
    s = npc_scene([dict(slot=0, pos=(10, 11), levels={nj.CONSTITUTION: 30}, health=30),
                   dict(slot=1, pos=(10, 9))],
                  [dict(slot=0, pos=(10, 10), kind=nj.NEUTRAL)])
    # Left alone, a neutral NPC attacks nobody, however close.
    s_quiet, info = play(s, 3)
    assert (info["npc_attack_target"][:, 0] == A).all()
    # Agent 0 hits it (melee level 1: 5 damage); agent 1 stays quiet.
    _, s, _, _, info = step(s, act(NPC_SCENE, target={0: A}))
    assert bool(info["attack_hit"][0]) and int(s.npcs.damage[0]) == 5
    assert int(s.npcs.attacker[0]) == 0 and int(info["npc_attack_target"][0]) == A
    # From the next tick on it answers agent 0 (melee level 1 at defense 1: 5 a hit).
    _, s, _, _, info = step(s, seed=1)
    assert int(s.npcs.target[0]) == 0
    assert int(info["npc_attack_target"][0]) == 0 and bool(info["npc_attack_hit"][0])
    assert int(s.agents.damage[0]) == 5 and int(s.agents.damage[1]) == 0
    s, info = play(s, 3)
    assert (info["npc_attack_target"][:, 0] == 0).all()  # keeps at it
    assert (info["damage"][:, 0] == 5).all() and (info["damage"][:, 1] == 0).all()


def test_neutral_forgets_an_attacker_out_of_sight():
    params = STILL.replace(npc_sight=np.int32(2))
    s = npc_scene([dict(slot=0, pos=(10, 13))],
                  [dict(slot=0, pos=(10, 10), kind=nj.NEUTRAL, target=0)], params=params)
    _, s, _, _, info = step(s, params=params)  # 3 away: beyond its sight of 2
    assert int(s.npcs.target[0]) == -1 and int(info["npc_attack_target"][0]) == A


def test_hostile_chases_and_attacks_an_agent_in_sight():
    s = npc_scene([dict(slot=3, pos=(10, 15), levels={nj.CONSTITUTION: 30}, health=30)],
                  [dict(slot=1, pos=(10, 10), kind=nj.HOSTILE, level=5)])
    cols, targets = [], []
    for t in range(5):
        _, s, _, _, info = step(s, seed=t)
        cols.append(int(s.npcs.pos[1, 1]))
        targets.append(int(info["npc_attack_target"][1]))
    assert int(s.npcs.target[1]) == 3
    # One step a tick (5 east: within sight 7), onto its tile as nmmo's A* does.
    assert cols == [11, 12, 13, 14, 15]
    assert targets == [A + 1, A + 1, A + 1, 3, 3]  # attacks once in melee reach (after moves)
    # Melee level 5: floor(5 + 45 * 5 / 99) = 7 a hit; chance 1 + (5 - 1) / 200 >= 1.
    assert int(s.agents.damage[3]) == 7


def test_hostile_ignores_agents_out_of_sight_or_immune():
    s = npc_scene([dict(slot=0, pos=(10, 18)),              # 8 away: out of sight
                   dict(slot=1, pos=(11, 10), immune=5)],   # adjacent but immune
                  [dict(slot=0, pos=(10, 10), kind=nj.HOSTILE)])
    _, s2, _, _, info = step(s)
    assert int(s2.npcs.target[0]) == -1 and int(info["npc_attack_target"][0]) == A
    # The nearest attackable agent wins, ties by the lower slot.
    s = npc_scene([dict(slot=5, pos=(12, 12)), dict(slot=2, pos=(8, 8)),
                   dict(slot=7, pos=(11, 10))],
                  [dict(slot=0, pos=(10, 10), kind=nj.HOSTILE)])
    _, s, _, _, info = step(s)
    assert int(s.npcs.target[0]) == 7  # distance 1 beats 2
    s = npc_scene([dict(slot=5, pos=(12, 12)), dict(slot=2, pos=(8, 8))],
                  [dict(slot=0, pos=(10, 10), kind=nj.HOSTILE)])
    assert int(step(s)[1].npcs.target[0]) == 2  # both 2 away: the lower slot


@pytest.mark.parametrize("vision", [7, 1])  # 16 agents: every pair compared; more than 3x3: the grid
def test_nearest_agent_is_the_same_by_pairs_and_by_the_grid(vision):
    from nmmo_jax.systems.npc import nearest_agents
    config = NPC_SCENE.replace(vision=vision)
    params = nj.default_params(config, npc_spawn_attempts=0, range_range=1, mage_range=1)
    s = with_npcs(scene([dict(slot=5, pos=(11, 11)), dict(slot=2, pos=(9, 9)),
                         dict(slot=1, pos=(10, 11), immune=3), dict(slot=7, pos=(10, 12)),
                         dict(slot=9, pos=(20, 20))], config=config, params=params),
                  [dict(slot=0, pos=(10, 10), kind=nj.HOSTILE),
                   dict(slot=1, pos=(10, 14), kind=nj.HOSTILE),
                   dict(slot=2, pos=(4, 25), kind=nj.HOSTILE)], params)
    found = np.asarray(jax.jit(nearest_agents, static_argnums=1)(s, config, params))[:3]
    # NPC 0: slots 5 and 2 at distance 1 (1 is immune): the lower slot. NPC 1: slot 7 is 2
    # away, within vision 7 only. NPC 2: nobody in sight (A).
    assert found.tolist() == [2, 7 if vision == 7 else A, A]


def test_npcs_never_enter_lava_water_or_stone():
    blocked = {(9, 10): nj.LAVA, (11, 10): nj.WATER, (10, 9): nj.STONE}
    s = npc_scene([], [dict(slot=0, pos=(10, 10))], tiles=blocked)
    s, info = play(s, 12)
    seen = {tuple(p) for p in info["npc_pos"][:, 0].tolist()}
    assert len(seen) > 3 and not seen & set(blocked)
    # Walled in on all four sides: it stays.
    walled = {**blocked, (10, 11): nj.LAVA}
    s, _ = play(npc_scene([], [dict(slot=0, pos=(10, 10))], tiles=walled), 3)
    assert tuple(np.asarray(s.npcs.pos[0])) == (10, 10) and bool(s.npcs.alive[0])


def test_frozen_npc_stays_but_attacks():
    s = npc_scene([dict(slot=0, pos=(10, 11))],
                  [dict(slot=0, pos=(10, 10), kind=nj.HOSTILE, freeze=3)])
    _, s, _, _, info = step(s)
    assert tuple(np.asarray(s.npcs.pos[0])) == (10, 10) and int(s.npcs.freeze[0]) == 2
    assert int(info["npc_attack_target"][0]) == 0


# ------------------------------------------------------- danger, kind, level
def test_level_and_kind_follow_the_danger_rule():
    """Default map: ring side 62. nmmo's formulas, in float64, give the same."""
    config = nj.Config()
    params = nj.default_params(config)
    ring = jnp.arange(31)
    levels = np.asarray(npc_level(ring, config, params))
    kinds = np.asarray(npc_kind(ring, config, params))
    for d in range(31):
        nmmo_danger = 2 * d / 62
        assert levels[d] == int(nmmo_danger * (10 - 1) + 1), d
        want = (nj.HOSTILE if nmmo_danger >= 0.8 else nj.NEUTRAL if nmmo_danger >= 0.5
                else nj.PASSIVE)
        assert kinds[d] == want, d
    assert levels[[0, 15, 16, 25, 30]].tolist() == [1, 5, 5, 8, 9]
    assert kinds[[15, 16, 24, 25]].tolist() == [nj.PASSIVE, nj.NEUTRAL, nj.NEUTRAL, nj.HOSTILE]
    np.testing.assert_allclose(np.asarray(danger(ring, config))[[0, 31 // 2, 30]],
                               [0.0, 30 / 62, 60 / 62], rtol=1e-6)
    # Distance from the spawn ring, inwards: 0 on the ring (row 9), 30 at the centre.
    pos = jnp.asarray([[9, 40], [40, 9], [70, 70], [39, 40], [20, 60], [0, 0]])
    assert np.asarray(ring_distance(pos, config)).tolist() == [0, 0, 0, 30, 10, -9]
    # A danger threshold below the passive one leaves no NPC there.
    shy = nj.default_params(config, npc_passive_danger=0.2)  # 2 d / 62 >= 0.2 from d = 7
    assert np.asarray(npc_kind(ring, config, shy))[[0, 6, 7]].tolist() == [0, 0, nj.PASSIVE]


@pytest.mark.parametrize("map_size", [32, 31])  # ring side 24, and 23 with one centre cell
def test_square_ring_cell_walks_each_ring_once_round(map_size):
    config = nj.Config.small(map_size=map_size)
    side = config.ring_side
    counts = [max(4 * (side - 2 * ring - 1), 1) for ring in range((side + 1) // 2)]
    ring = np.repeat(np.arange(len(counts)), counts)
    u = np.concatenate([(np.arange(n) + 0.5) / n for n in counts])  # one draw per cell's share
    cells = np.asarray(square_ring_cell(jnp.asarray(u, jnp.float32), jnp.asarray(ring), config))
    assert len({tuple(c) for c in cells}) == len(cells) == sum(counts)
    assert (np.asarray(ring_distance(jnp.asarray(cells), config)) == ring).all()
    if side % 2:
        assert cells[-1].tolist() == [config.border + side // 2] * 2
    corner = square_ring_cell(jnp.zeros(1), jnp.ones(1, jnp.int32), config)
    assert corner.tolist() == [[config.border + 1] * 2]  # u = 0: the top-left corner


@pytest.mark.slow
def test_spawned_npcs_have_their_cells_kind_and_level():
    config = nj.Config(spawn_per_tick=0, num_npcs=512)
    params = nj.default_params(config, npc_spawn_attempts=512)
    tiles = np.full((80, 80), nj.GRASS, np.int8)
    tiles[:, 39:41] = nj.STONE  # two stone columns: never a spawn there
    state = nj.initial_state(jnp.asarray(tiles), config)
    state, spawned = jax.jit(npc_spawn, static_argnums=2)(rng.mix32(jnp.uint32(3)), state, config,
                                                         params)
    n = jax.tree.map(np.asarray, state.npcs)
    spawned = np.asarray(spawned)
    assert spawned.sum() > 450 and (n.alive == spawned).all()
    pos = n.pos[spawned]
    ring = np.asarray(ring_distance(jnp.asarray(pos), config))
    assert (ring >= 0).all() and not np.isin(pos[:, 1], (39, 40)).any()
    assert (n.ring[spawned] == ring).all() and (n.ring[~spawned] == -1).all()
    assert (n.level[spawned] == np.asarray(npc_level(jnp.asarray(ring), config, params))).all()
    assert (n.kind[spawned] == np.asarray(npc_kind(jnp.asarray(ring), config, params))).all()
    assert (n.health[spawned] == 10).all() and (n.target == -1).all()
    # Uniform over the open cells of the playable square (on an open map 3.7 %
    # hostile and 19.7 % neutral: nmmo's shares).
    rows, cols = np.meshgrid(np.arange(9, 71), np.arange(9, 71), indexing="ij")
    cells = jnp.asarray(np.stack([rows, cols], -1)[tiles[9:71, 9:71] == nj.GRASS])
    want = np.bincount(np.asarray(npc_kind(ring_distance(cells, config), config, params)),
                       minlength=4)[1:] / cells.shape[0]
    share = np.bincount(n.kind[spawned], minlength=4)[1:] / spawned.sum()
    sigma = np.sqrt(want * (1 - want) / spawned.sum())
    assert (np.abs(share - want) < 4 * sigma).all(), (share, want)
    assert set(np.unique(n.style[spawned])) == {0, 1, 2}


def test_respawn_up_to_the_cap_on_the_same_ring():
    params = nj.default_params(NPC_SCENE, npc_spawn_attempts=25)
    s = npc_scene([], [], params=params)
    _, s, _, _, info = step(s, params=params)  # 25 attempts, 4 slots, all grass
    assert int(s.npcs.alive.sum()) == 4 and info["npc_spawned"].all()
    # Slot 2 dies, remembering ring 5: the next tick refills it there, and only it.
    n = s.npcs
    s = s.replace(npcs=n.replace(alive=n.alive.at[2].set(False), ring=n.ring.at[2].set(5)))
    _, s, _, _, info = step(s, seed=1, params=params)
    assert np.asarray(info["npc_spawned"]).tolist() == [False, False, True, False]
    assert int(s.npcs.alive.sum()) == 4
    assert int(ring_distance(s.npcs.pos[2], NPC_SCENE)) == 5 and int(s.npcs.ring[2]) == 5
    # One attempt a tick: empty slots fill one by one, lowest first.
    one = params.replace(npc_spawn_attempts=np.int32(1))
    s = npc_scene([], [], params=one)
    alive = []
    for t in range(4):
        s = step(s, seed=t, params=one)[1]
        alive.append(np.asarray(s.npcs.alive).tolist())
    assert alive == [[True, False, False, False], [True, True, False, False],
                     [True, True, True, False], [True] * 4]


def test_a_blocked_respawn_forgets_its_ring():
    params = nj.default_params(NPC_SCENE, npc_spawn_attempts=1)
    cells = np.stack(np.meshgrid(np.arange(32), np.arange(32), indexing="ij"), -1)
    ring = np.asarray(ring_distance(jnp.asarray(cells), NPC_SCENE))
    ring5 = {tuple(cell): nj.STONE for cell in cells[ring == 5].tolist()}
    s = npc_scene([], [], tiles=ring5, params=params)
    s = s.replace(npcs=s.npcs.replace(ring=s.npcs.ring.at[0].set(5)))
    _, s, _, _, info = step(s, params=params)
    assert not info["npc_spawned"].any() and int(s.npcs.ring[0]) == -1


# -------------------------------------------------------- combat with agents
def test_agent_gains_xp_but_no_food_or_water_from_hitting_an_npc():
    s = npc_scene([dict(slot=0, pos=(10, 10), food=4, water=6)],
                  [dict(slot=0, pos=(10, 11), freeze=2)])  # frozen: it stays in reach
    xp0 = np.asarray(s.agents.xp[0])
    _, s, _, _, info = step(s, act(NPC_SCENE, style={0: nj.MELEE}, target={0: A}))
    dxp = np.asarray(s.agents.xp[0]) - xp0
    assert dxp[nj.MELEE_SKILL] == 40 * 5 and dxp[nj.CONSTITUTION] == 20 * 5
    assert dxp[nj.DEFENSE] == 0 and dxp[nj.RANGE_SKILL] == 0
    # An NPC has nothing to eat: only the decay of 1 (a hit on an agent would add 5).
    assert (int(s.agents.food[0]), int(s.agents.water[0])) == (3, 5)
    assert int(s.npcs.health[0]) == 5 and int(info["attack_target"][0]) == A
    # A mage hit (level 1: 1 damage; reach 3, it wandered 1) freezes the NPC.
    _, s, _, _, info = step(s, act(NPC_SCENE, style={0: nj.MAGE}, target={0: A}))
    assert bool(info["attack_hit"][0]) and int(s.npcs.freeze[0]) == 3
    assert int(s.npcs.damage[0]) == 1


def test_killing_an_npc_is_reported_and_frees_its_slot():
    s = npc_scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 12))],
                  [dict(slot=0, pos=(10, 11), health=4, freeze=2), dict(slot=2, pos=(20, 20))])
    _, s, reward, done, info = step(s, act(NPC_SCENE, style={0: nj.MELEE, 1: nj.RANGE},
                                           target={0: A, 1: A}))
    assert np.asarray(info["npc_done"]).tolist() == [True, False, False, False]
    assert np.asarray(info["npc_kill"])[:3].tolist() == [True, True, False]  # both hitters
    assert not bool(s.npcs.alive[0]) and bool(s.npcs.alive[2])
    assert not done.any() and (reward == 0).all()  # agents' rewards are their own lives


def test_death_by_an_npc_has_its_own_cause():
    s = npc_scene([dict(slot=0, pos=(10, 10), health=3)],
                  [dict(slot=0, pos=(10, 11), kind=nj.HOSTILE)])
    _, s, reward, done, info = step(s)
    assert bool(done[0]) and float(reward[0]) == -1.0
    assert int(info["death_cause"][0]) == nj.CAUSE_NPC == 4
    assert nj.CAUSE_NAMES[nj.CAUSE_NPC] == "npc"
    assert int(s.npcs.target[0]) == -1  # its victim is forgotten the tick it dies
    # Mostly an agent's doing: combat. An agent's melee 5 and an NPC's mage 1.
    s = npc_scene([dict(slot=0, pos=(10, 10), health=5), dict(slot=1, pos=(10, 11))],
                  [dict(slot=0, pos=(10, 12), kind=nj.HOSTILE, style=nj.MAGE, target=0)])
    _, s, _, done, info = step(s, act(NPC_SCENE, target={1: 0}))
    assert bool(done[0]) and int(s.agents.damage[0]) == 6
    assert int(info["death_cause"][0]) == nj.CAUSE_COMBAT


def test_bad_targets_are_no_attacks():
    s = npc_scene([dict(slot=0, pos=(10, 10))], [dict(slot=0, pos=(10, 11))])
    for bad in (-1, NPC_SCENE.num_slots, 10 ** 6, A + 3):  # A + 3: an empty NPC slot
        _, s2, _, _, info = step(s, act(NPC_SCENE, target={0: bad}))
        assert int(info["attack_target"][0]) == 0 and int(s2.npcs.damage[0]) == 0


# ------------------------------------------------------- the whole step
SMALL_NPCS = nj.Config.small(num_npcs=8)


@pytest.mark.slow
def test_shapes_and_checks_with_npcs_on_and_off():
    obs, state = nj.jit_reset(jax.random.PRNGKey(0), SMALL_NPCS)
    a, n, k = 16, 8, SMALL_NPCS.max_entities
    chex.assert_shape([state.npcs.alive, state.npcs.kind, state.npcs.level, state.npcs.target,
                       state.npcs.ring], (n,))
    chex.assert_shape(state.npcs.pos, (n, 2))
    chex.assert_shape(obs.entities, (a, k, len(nj.entity_feature_names(n))))
    chex.assert_shape(obs.target_mask, (a, 3, k))
    nj.check_state(state, SMALL_NPCS)
    assert int(state.npcs.alive.sum()) > 0  # reset spawns NPCs too
    obs, state, reward, done, info = nj.jit_step(jax.random.PRNGKey(1), state,
                                                 nj.Actions.noop(a), SMALL_NPCS)
    chex.assert_shape([info["npc_alive"], info["npc_done"], info["npc_spawned"],
                       info["npc_attack_target"], info["npc_attack_hit"]], (n,))
    chex.assert_shape([info["npc_kill"], info["attack_target"], reward, done], (a,))
    # Off: v1.3's state and observation.
    obs, state = nj.jit_reset(jax.random.PRNGKey(0), nj.Config.small())
    assert state.npcs is None and obs.entities.shape[-1] == nj.NUM_ENTITY_FEATURES == 15
    with pytest.raises(ValueError, match="state.npcs: expected a nmmo_jax.Npcs of 8 slots"):
        nj.check_state(state, SMALL_NPCS)


def _rollout(config, key, ticks, params=None):
    def tick(carry, k):
        obs, state = carry
        k_act, k_step = jax.random.split(k)
        obs, state, reward, done, info = nj.step(k_step, state, random_policy(k_act, obs), config,
                                                 params)
        return (obs, state), (state, info)

    k_reset, k_run = jax.random.split(key)
    obs, state = nj.reset(k_reset, config, params)
    return jax.lax.scan(tick, (obs, state), jax.random.split(k_run, ticks))


@pytest.mark.slow
def test_vmap_equals_separate_calls_and_same_key_same_result():
    keys = jax.random.split(jax.random.PRNGKey(3), 3)
    run = jax.jit(lambda k: _rollout(SMALL_NPCS, k, 30))
    batched = jax.jit(jax.vmap(lambda k: _rollout(SMALL_NPCS, k, 30)))(keys)
    for w in range(3):
        chex.assert_trees_all_equal(run(keys[w]), jax.tree.map(lambda x: x[w], batched))
    chex.assert_trees_all_equal(run(keys[0]), run(keys[0]))
    other = run(keys[1])[0][1].npcs.pos
    assert not np.array_equal(np.asarray(run(keys[0])[0][1].npcs.pos), np.asarray(other))


@pytest.mark.slow
def test_npcs_leave_the_agents_draws_alone():
    """With NPC slots that never fill, every agent field, tile and v1.3 observation
    column is the NPC-free world's, tick by tick: the NPCs' draws are their own."""
    off, on = nj.Config.small(), nj.Config.small(num_npcs=4)
    params_on = nj.default_params(on, npc_spawn_attempts=0)
    (_, s_off), (st_off, info_off) = jax.jit(lambda k: _rollout(off, k, 40))(jax.random.PRNGKey(9))
    (o_on, s_on), (st_on, info_on) = jax.jit(lambda k: _rollout(on, k, 40, params_on))(
        jax.random.PRNGKey(9))
    chex.assert_trees_all_equal(st_off.agents, st_on.agents)
    chex.assert_trees_all_equal(st_off.tiles, st_on.tiles)
    for name in info_off:
        chex.assert_trees_all_equal(info_off[name], info_on[name])
    assert not np.asarray(st_on.npcs.alive).any()


def test_a_new_npc_value_does_not_retrace():
    traces = []

    def counted(key, state, actions, params):
        traces.append(1)
        return nj.step(key, state, actions, NPC_SCENE, params)

    f = jax.jit(counted)
    s = npc_scene([dict(slot=0, pos=(10, 10))], [dict(slot=0, pos=(10, 11), kind=nj.HOSTILE)])
    damage = []
    for changes in ({}, dict(npc_level_min=5), dict(npc_sight=0), dict(npc_heal=3),
                    dict(npc_health=50, npc_passive_danger=0.1, npc_hostile_danger=0.9)):
        params = nj.default_params(NPC_SCENE, **{"npc_spawn_attempts": 0, "hit_base": 1.0,
                                                 **changes})
        _, s2, *_ = f(jax.random.PRNGKey(0), s, act(NPC_SCENE), params)
        damage.append(int(s2.agents.damage[0]))
    assert len(traces) == 1
    assert damage == [5, 5, 0, 5, 5]  # sight 0: the adjacent agent is out of sight


@pytest.mark.slow
def test_invariants_over_long_vmapped_random_play():
    """Many worlds of random play with NPCs: bookkeeping holds every tick."""
    config = nj.Config.small(num_npcs=16, spawn_per_tick=2)
    params = nj.default_params(config)
    worlds, ticks = 64, 4000  # 256,000 world-ticks

    def check(state, info):
        n, ag = state.npcs, state.agents
        tile = state.tiles[n.pos[:, 0], n.pos[:, 1]]
        on_land = ~n.alive | ((tile != nj.LAVA) & (tile != nj.WATER) & (tile != nj.STONE))
        a, slots = config.num_agents, jnp.arange(config.num_npcs) + config.num_agents
        npc_target = info["npc_attack_target"]
        ok = [((n.health > 0) & (n.health <= params.npc_health) | ~n.alive).all(),
              on_land.all(), (ag.health >= 0).all(), (n.health >= 0).all(),
              ((n.target < 0) | ag.alive[jnp.maximum(n.target, 0)]).all(),
              ((n.kind >= nj.PASSIVE) & (n.kind <= nj.HOSTILE) | ~n.alive).all(),
              ((n.level >= params.npc_level_min) & (n.level <= params.npc_level_max)
               | ~n.alive).all(),
              (info["npc_alive"] == n.alive).all(), ~(info["npc_done"] & n.alive).any(),
              ((info["attack_target"] >= 0) & (info["attack_target"] < config.num_slots)).all(),
              ((npc_target == slots) | (npc_target < a)).all(),  # NPCs attack agents only
              ~(info["npc_attack_hit"] & (n.kind == nj.PASSIVE)).any()]
        return jnp.stack(ok)

    def world(key):
        def tick(carry, k):
            obs, state = carry
            k_act, k_step = jax.random.split(k)
            obs, state, _, done, info = nj.step(k_step, state, random_policy(k_act, obs), config)
            kills = ((info["death_cause"] == nj.CAUSE_NPC) & done).sum()
            return (obs, state), (check(state, info), jnp.isnan(obs.entities).any(), kills,
                                  info["npc_kill"].sum())

        obs, state = nj.reset(key, config)
        return jax.lax.scan(tick, (obs, state), jax.random.split(key, ticks))[1]

    ok, nan, deaths_by_npc, npc_kills = jax.jit(jax.vmap(world))(
        jax.random.split(jax.random.PRNGKey(4), worlds))
    assert np.asarray(ok).all(axis=(0, 1)).all(), np.asarray(ok).all(axis=(0, 1))
    assert not np.asarray(nan).any()
    assert int(deaths_by_npc.sum()) > 0 and int(npc_kills.sum()) > 0


# ------------------------------------------------------------------- numbers
@pytest.mark.parametrize("config, changes, message", [
    (NPC_SCENE, dict(npc_level_min=11), r"^Params.npc_level_min=11: must be <= npc_level_max=10 "
                                        r"\(min <= max\)$"),
    (NPC_SCENE, dict(npc_level_max=100), r"^Params.npc_level_max=100: must be >= 1 and <= 99$"),
    (nj.Config(max_level=20), dict(npc_level_max=30),
     r"^Params.npc_level_max=30: must be a level <= Config.max_level=20$"),
    (NPC_SCENE, dict(npc_neutral_danger=0.9),
     r"^Params.npc_neutral_danger=0.(9|89).*: must be <= npc_hostile_danger=0.8.* "
     r"\(passive <= neutral <= hostile\)$"),
    (NPC_SCENE, dict(npc_hostile_danger=1.5), r"^Params.npc_hostile_danger=1.5: must be >= 0.0"),
    (NPC_SCENE, dict(npc_sight=8), r"^Params.npc_sight=8: must be <= Config.vision=7"),
    (NPC_SCENE, dict(npc_health=0), r"^Params.npc_health=0: must be >= 1"),
    (NPC_SCENE, dict(npc_spawn_attempts=-1), r"^Params.npc_spawn_attempts=-1: must be >= 0"),
    (NPC_SCENE, dict(npc_heal=0.5), r"^Params.npc_heal=0.5: must be an integer"),
])
def test_npc_params_are_checked(config, changes, message):
    with pytest.raises(ValueError, match=message):
        nj.default_params(config, **changes)


def test_npc_defaults_and_ranges():
    p = nj.default_params(NPC_SCENE)
    assert (int(p.npc_spawn_attempts), int(p.npc_level_min), int(p.npc_level_max),
            int(p.npc_health), int(p.npc_heal), int(p.npc_sight)) == (25, 1, 10, 10, 1, 7)
    assert [float(p.npc_passive_danger), float(p.npc_neutral_danger),
            float(p.npc_hostile_danger)] == [0.0, 0.5, np.float32(0.8)]
    assert int(nj.default_params(nj.Config.small(vision=3)).npc_sight) == 3  # = the vision
    with pytest.raises(ValueError, match="a draw could break passive <= neutral <= hostile"):
        nj.param_ranges(p, {"npc_neutral_danger": (0.4, 0.7), "npc_hostile_danger": (0.6, 0.9)},
                        NPC_SCENE)


@pytest.mark.slow
def test_adding_npc_fields_left_the_v13_draws_alone():
    """draw_params draws v1.3's fields from one split of the key into 34, as before
    the NPC fields existed (so earlier randomised runs replay)."""
    from nmmo_jax.params import FIELDS, V13
    base = nj.default_params(NPC_SCENE)
    ranges = nj.param_ranges(base, {"regrow_prob": (0.01, 0.2), "npc_heal": (0, 5)}, NPC_SCENE)
    key = jax.random.PRNGKey(5)
    drawn = nj.draw_params(key, ranges)
    index = list(FIELDS).index("regrow_prob")
    u = jax.random.uniform(jax.random.split(key, len(V13))[index], ())
    want = jnp.minimum(0.01 + u * (0.2 - 0.01), 0.2)
    assert len(V13) == 34 and float(drawn.regrow_prob) == float(jnp.float32(want))
    heals = jax.vmap(nj.draw_params, in_axes=(0, None))(jax.random.split(key, 300), ranges).npc_heal
    assert set(np.unique(np.asarray(heals))) == set(range(6))
