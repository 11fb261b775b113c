"""Item numbers per policy in the closing evaluation (issue 34): the match runner's
equipment level, harvests and gold on a hand-built scene and over a short game, the
rows, the printed table and the yardstick cache. Without items (v1.3's worlds, or
NPCs alone) every Sums, row, stored row, cache key and table is as before."""
from __future__ import annotations

import json

import jax
import numpy as np
import pytest

import nmmo_jax as nj
from nmmo_jax.state import FISH, HAT, ORE, SPEAR, TOP
from policies.scripted import SCRIPTED
from tests.conftest import jit_step, scene
from tests.test_systems_items import acts, give
from tests.test_train_evaluation import hand_sums
from tests.test_train_evaluation_npcs import one_cell, stored_rows
from train.evaluation import cache, matches, report
from train.evaluation.matches import (ITEM_FIELDS, NO_ITEMS, Sums, has_items, has_npcs,
                                      sums_fields, tick_counts)
from train.evaluation.population import evaluate_settings, summarize

SCENE = nj.Config.small(spawn_per_tick=0, inventory_slots=4, professions=True)
SURE = nj.default_params(SCENE, hit_base=1.0, weapon_drop_prob=0.0)  # hits land, no weapons
WORLD = nj.Config.small(inventory_slots=4, professions=True)  # spawning: newcomers' gold
P = SCENE.num_populations  # 4: slot i belongs to population i % 4
jit_counts = jax.jit(tick_counts, static_argnames="config")


def from_states(prev: nj.State, state: nj.State, info: dict, config: nj.Config) -> dict:
    """The item fields counted straight from the states and info, in numpy: per
    population, the living agents' equipped levels and gold, the harvests, and
    the gold the living non-newcomers hold more than the tick before."""
    prev, state, info = jax.tree.map(np.asarray, (prev, state, info))
    living = state.agents.alive
    np.testing.assert_array_equal(living, info["alive"])
    pop = np.arange(config.num_agents) % config.num_populations
    per_pop = lambda x: np.bincount(pop, weights=x, minlength=config.num_populations).astype(int)
    it = state.items
    level = (it.level * it.equipped).sum(axis=1)
    stay = living & ~info["spawned"]
    return {"equipment_level": per_pop(np.where(living, level, 0)),
            "harvested": per_pop(info["harvested"].sum(axis=1)),
            "gold": per_pop(np.where(living, it.gold, 0)),
            "gold_gained": per_pop(np.where(stay, it.gold - prev.items.gold, 0))}


def item_scene() -> nj.State:
    """Agent 0 (population 0; a level-2 spear equipped, 1 gold) kills agent 1
    (population 1; health 1, 7 gold, a level-3 hat equipped) in the first tick;
    agent 2 (population 2) stands on ore beside a fish tile (two harvests); agent 5
    (population 1; a level-4 top equipped, 3 gold) stands far from everyone."""
    s = scene([dict(slot=0, pos=(10, 10)), dict(slot=1, pos=(10, 11), health=1),
               dict(slot=2, pos=(20, 20)), dict(slot=5, pos=(5, 25))],
              tiles={(20, 20): ORE, (20, 21): FISH}, config=SCENE)
    s = give(s, 0, [(SPEAR, 2, 1, True)], gold=1)
    s = give(s, 1, [(HAT, 3, 1, True)], gold=7)
    return give(s, 5, [(TOP, 4, 1, True)], gold=3)


# ------------------------------------------------------------------ the match runner
@pytest.mark.slow
def test_tick_counts_item_fields_are_the_states_numbers_on_a_scene():
    prev = item_scene()
    _, state, _, done, info = jit_step(jax.random.PRNGKey(0), prev,
                                       acts(SCENE, style={0: nj.MELEE}, target={0: 1}),
                                       SCENE, SURE)
    assert bool(done[1]) and int(info["death_cause"][1]) == nj.CAUSE_COMBAT
    c = jax.tree.map(np.asarray, jit_counts(prev, state, done, info, SCENE, SURE))
    assert set(ITEM_FIELDS) <= set(c) and set(c) == set(sums_fields(SCENE)) - {
        "forests_start", "forests_end", "forests_reset"}
    # The killer keeps its spear (the hat arrives unequipped) and takes the 7 gold;
    # the dead agent counts nothing; agent 2 fished and prospected once each.
    expected = {"equipment_level": [2, 4, 0, 0], "harvested": [0, 0, 2, 0],
                "gold": [8, 3, 0, 0], "gold_gained": [7, 0, 0, 0]}
    for k, v in expected.items():
        np.testing.assert_array_equal(c[k], v, err_msg=k)
        assert c[k].dtype == np.int32
    for k, v in from_states(prev, state, info, SCENE).items():
        np.testing.assert_array_equal(c[k], v, err_msg=k)
    # Items without professions harvest nothing (their info has no "harvested"): 0
    # harvests, the rest as counted.
    no_harvest = {k: v for k, v in info.items() if k != "harvested"}
    no_prof = jit_counts(prev, state, done, no_harvest, SCENE.replace(professions=False), SURE)
    np.testing.assert_array_equal(no_prof["harvested"], np.zeros(P))
    for k in ("equipment_level", "gold", "gold_gained"):
        np.testing.assert_array_equal(no_prof[k], c[k], err_msg=k)
    # Rows: per living agent (equipment level, gold) and per 1,000 agent-ticks alive.
    sums = one_cell(c)
    assert has_items(sums) and not has_npcs(sums)
    row = summarize(sums, 0, 1)  # 3 agent-ticks alive: agents 0, 2 and 5
    assert row["equipment_level"] == 6 / 3 and row["gold"] == 11 / 3
    assert row["harvested"] == 2000 / 3 and row["gold_gained"] == 7000 / 3
    pop2 = summarize(sums, 0, 1, held=np.arange(P)[None] == 2)
    assert (pop2["equipment_level"], pop2["harvested"], pop2["gold"]) == (0.0, 2000.0, 0.0)
    assert np.isnan(summarize(sums, 0, 1, held=np.arange(P)[None] == 3)["gold"])  # nobody


@pytest.mark.slow
def test_tick_counts_item_fields_over_a_short_game_of_gear_forager():
    """Every tick of 40 of gear_forager on a small item world (spawning, harvests,
    equipping): the counts equal the states' numbers, and gold is only gained as loot."""
    policy = jax.jit(SCRIPTED["gear_forager"])  # one world: obs [A, ...] -> Actions [A]
    obs, state = nj.jit_reset(jax.random.PRNGKey(3), WORLD)
    totals = {k: 0 for k in ITEM_FIELDS}
    for t in range(40):
        k_act, k_env = jax.random.split(jax.random.PRNGKey(100 + t))
        obs, new, _, done, info = jit_step(k_env, state, policy(k_act, obs), WORLD)
        c = jax.tree.map(np.asarray, jit_counts(state, new, done, info, WORLD))
        for k, v in from_states(state, new, info, WORLD).items():
            np.testing.assert_array_equal(c[k], v, err_msg=f"{k} at tick {t}")
            totals[k] += int(v.sum())
        spawned, alive = np.asarray(info["spawned"]), np.asarray(info["alive"])
        assert np.all(np.asarray(new.items.gold - state.items.gold)[alive & ~spawned] >= 0)
        state = new
    assert totals["harvested"] > 0 and totals["gold"] > 0  # gold_start of every newcomer
    assert totals["gold_gained"] == 0  # no kill in a forager's game: no loot


# ------------------------------------------------------------------ without items
def test_without_items_sums_rows_stored_rows_and_tables_are_as_before(small):
    for config in (small, small.replace(num_npcs=8)):
        assert not set(ITEM_FIELDS) & set(sums_fields(config))
    assert set(ITEM_FIELDS) <= set(sums_fields(WORLD))
    sums = hand_sums()
    assert not has_items(sums) and all(getattr(sums, f) is NO_ITEMS for f in ITEM_FIELDS)
    row = summarize(sums, 0, 10)
    assert not set(ITEM_FIELDS) & set(row)
    assert not set(ITEM_FIELDS) & set(cache.stored_fields(sums))
    # v1.3 and NPC-only tables: no item table, whatever the rows hold
    plain = {"trained": {"fresh": row, "settled": row}}
    items = {"trained": {s: row | {k: 1.0 for k in ITEM_FIELDS} for s in ("fresh", "settled")}}
    for config in (small, small.replace(num_npcs=8)):
        table = report.format_table(plain, 1000, 2, 2000, {}, config)
        assert "items" not in table and "gold" not in table
        assert report.format_table(items, 1000, 2, 2000, {}, config) == table
    assert "settled items" not in report.format_table(plain, 1000, 2, 2000)
    assert "settled items" in report.format_table(items, 1000, 2, 2000)  # rows decide


def test_shipped_yardstick_keys_are_derived_as_before():
    """A shipped row's key, rebuilt from its own settings: the same JSON but for the
    code's fingerprint (which changes with any change to the game or the match
    runner; scripts/ship_yardsticks.py ships the rows again); a row holds the item
    fields exactly when its world has items (the default preset's and nmmo2's)."""
    presets = set()
    for path in sorted(cache.SHIPPED_DIR.glob("*.json")):
        doc = json.loads(path.read_text())
        key = json.loads(doc["key"])
        config = nj.Config(**key["config"])
        presets.add(next(p for p in nj.Config.PRESETS if nj.Config.preset(p) == config))
        rebuilt = json.loads(cache.yardstick_key(config, key["ticks"], key["worlds"],
                                                 key["seed"], key["warmup"]))
        same = lambda k: {f: v for f, v in k.items() if f not in ("code", "jax", "backend")}
        assert same(rebuilt) == same(key)
        for fields in doc["sums"].values():
            sums = Sums(**{f: np.asarray(v) for f, v in fields.items()})
            items = config.inventory_slots > 0
            assert has_items(sums) == items
            assert ("gold" in summarize(sums, 0, key["ticks"])) == items
    assert presets == {"default", "nmmo2"}


# ------------------------------------------------------------------ the yardstick cache
def test_cache_stores_item_fields_only_for_item_worlds(small, tmp_path, monkeypatch):
    cells = lambda v: np.concatenate([v, v])  # fresh and settled windows
    plain = Sums(**{k: v if k == "forests_reset" else cells(v)
                    for k, v in hand_sums()._asdict().items() if k in sums_fields(small)})
    counts = {"equipment_level": 30, "harvested": 5, "gold": 200, "gold_gained": 2}
    items = plain._replace(**{k: np.full((2, 2, 2), v) for k, v in counts.items()})
    for config, sums in ((small, plain), (small.replace(inventory_slots=4), items)):
        fields, rows = stored_rows(monkeypatch, tmp_path / str(config.inventory_slots), config,
                                   "gear", sums)
        settled = rows["gear"]["settled"]
        if config.inventory_slots:
            assert fields == set(sums_fields(config)) and set(ITEM_FIELDS) <= fields
            # 4 cells of each count over 100 agent-ticks alive
            assert settled["equipment_level"] == 120 / 100 and settled["gold"] == 800 / 100
            assert settled["harvested"] == 1000 * 20 / 100
            assert settled["gold_gained"] == 1000 * 8 / 100
        else:
            assert fields == set(sums_fields(small)) and not set(ITEM_FIELDS) & set(settled)


# ------------------------------------------------------------------ an item world
@pytest.mark.slow
def test_an_item_world_evaluation_of_gear_forager_reports_item_numbers(capsys):
    results = evaluate_settings({"gear_forager": SCRIPTED["gear_forager"]}, WORLD, ticks=20,
                                worlds=2, warmup=20)
    for name, both in results.items():
        for setting, row in both.items():
            assert set(ITEM_FIELDS) <= set(row), (name, setting)
            assert min(row[k] for k in ITEM_FIELDS) >= 0 and row["gold"] >= 1
    gear = results["gear_forager"]["settled"]
    assert gear["harvested"] > 0
    table = report.format_table(results, 20, 2, 20, {}, WORLD)
    print(table)
    lines = table.splitlines()
    (head,) = [i for i, line in enumerate(lines) if line.startswith("settled items")]
    assert lines[head].split()[2:] == ["equip", "level", "harvested/1k", "ag-t", "gold", "gold",
                                       "gained/1k", "ag-t"]
    gear_line = lines[head + 2]
    assert gear_line.startswith("gear_forager ")
    assert gear_line.split()[1:] == [f"{gear['equipment_level']:.2f}",
                                     f"{gear['harvested']:.1f}", f"{gear['gold']:.2f}",
                                     f"{gear['gold_gained']:.2f}"]
    assert json.loads(json.dumps(results))["gear_forager"]["settled"]["gold"] == gear["gold"]
