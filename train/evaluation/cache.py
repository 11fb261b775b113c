"""The scripted yardsticks' rows, played once per evaluation setting and kept.

Yardstick rows depend only on (config, params, seed, ticks, warmup, worlds,
code, JAX version and backend), so their Sums are kept as JSON: shipped with
the code in yardsticks/ beside this file (scripts/ship_yardsticks.py writes
them), so that a default run's closing evaluation costs no yardstick minutes
on a fresh machine, and in the user's cache directory. A row computed by
other code, or another JAX or backend, never matches.

The key holds the whole Config, num_npcs included, so a world with NPCs never
reads a row of one without. A row of a world with NPCs also stores the Sums'
npc_kills and npc_deaths; without NPCs those fields are left out and a
stored row is v1.3's, field for field. Likewise with items: the key's Config
holds inventory_slots and professions, a row of a world with items also
stores the Sums' ITEM_FIELDS (equipment_level, harvested, gold,
gold_gained), and one without items leaves them out.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import jax
import numpy as np

import nmmo_jax as nj
from policies.scripted import ITEM_AWARE, NPC_AWARE, SCRIPTED

from .matches import ITEM_FIELDS, NPC_FIELDS, Sums, has_items, has_npcs
from .numbers import params_values
from .population import EVAL_SEED, SETTLE_TICKS, settings_rows, settings_sums


def scripted_policies(config: nj.Config | None = None) -> dict[str, Callable]:
    """The scripted yardsticks by name (policies.scripted.SCRIPTED) for worlds of
    `config` (None: all of them): the NPC-aware ones only where NPCs exist
    (elsewhere they play exactly as careful_forager), the item-aware ones only
    where items exist (elsewhere they play exactly as wary_forager), so that
    neither only costs time."""
    with_npcs = config is None or config.num_npcs > 0
    with_items = config is None or config.inventory_slots > 0
    return {name: fn for name, fn in SCRIPTED.items()
            if (with_npcs or name not in NPC_AWARE) and (with_items or name not in ITEM_AWARE)}


# Yardstick rows shipped with the code, read before the user's cache.
SHIPPED_DIR = Path(__file__).resolve().parent / "yardsticks"


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/nmmo-jax/yardsticks (default ~/.cache/nmmo-jax/yardsticks)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nmmo-jax" / "yardsticks"


def _code_fingerprint() -> str:
    """A hash of the sources a yardstick's Sums depend on: the game, the batch
    stepping, the scripted policies and the match runner (not the summaries,
    which are recomputed from the Sums)."""
    root = Path(__file__).resolve().parents[2]
    files = sorted((root / "nmmo_jax").rglob("*.py")) + [
        root / "envs" / "batch.py", root / "envs" / "autoreset.py",
        root / "policies" / "scripted.py", root / "policies" / "navigation.py",
        Path(__file__).resolve().parent / "matches.py"]
    digest = hashlib.sha256()
    for f in files:
        if f.exists():
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def stored_fields(sums: Sums) -> dict[str, list]:
    """The JSON lists a row stores of `sums`: every field, except npc_kills and
    npc_deaths where the Sums have no NPCs and ITEM_FIELDS where they have no
    items (with neither the row is v1.3's)."""
    keep = lambda f: ((has_npcs(sums) or f not in NPC_FIELDS)
                      and (has_items(sums) or f not in ITEM_FIELDS))
    return {f: np.asarray(v).tolist() for f, v in sums._asdict().items() if keep(f)}


def yardstick_key(config: nj.Config, ticks: int, worlds: int, seed: int, warmup: int,
                  params: nj.Params | None = None) -> str:
    """The JSON text that identifies a yardstick evaluation: the config, every
    Params field's value (None = the defaults' values), seed, ticks, warmup,
    worlds, the code's fingerprint, and the JAX version and backend (another
    XLA may round differently)."""
    return json.dumps({"config": dataclasses.asdict(config),
                       "params": params_values(params, config), "seed": seed, "ticks": ticks,
                       "warmup": warmup, "worlds": worlds,
                       "code": _code_fingerprint(), "jax": jax.__version__,
                       "backend": jax.default_backend()}, sort_keys=True)


def yardsticks(config: nj.Config, ticks: int, worlds: int, seed: int = EVAL_SEED,
               warmup: int = SETTLE_TICKS, cache_dir: Path | None = None,
               params: nj.Params | None = None, shipped: bool = True) -> dict[str, dict]:
    """{name: {"fresh": row, "settled": row}} for every scripted yardstick, played
    under the numbers `params` (None: v1.3's).

    Each yardstick's Sums are read from SHIPPED_DIR (unless `shipped` is False)
    or `cache_dir` when an identical evaluation (`yardstick_key`) was stored
    there, else played (and stored in `cache_dir`); the rows are computed from
    them. With shipped=False and cache_dir None everything is played."""
    key = yardstick_key(config, ticks, worlds, seed, warmup, params)
    file_name = f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.json"
    stored = None
    for folder in ((SHIPPED_DIR,) if shipped else ()) + (cache_dir,):
        found = Path(folder) / file_name if folder is not None else None
        if found is not None and found.exists():
            doc = json.loads(found.read_text())
            if doc.get("key") == key:
                stored = {name: Sums(**{f: np.asarray(v) for f, v in fields.items()})
                          for name, fields in doc["sums"].items()}
                break
    if stored is None:
        stored = settings_sums(scripted_policies(config), config, ticks, worlds, seed, warmup, params)
        if cache_dir is not None:
            path = Path(cache_dir) / file_name
            path.parent.mkdir(parents=True, exist_ok=True)
            doc = {"key": key, "sums": {name: stored_fields(sums)
                                        for name, sums in stored.items()}}
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(doc))
            os.replace(tmp, path)
    return {name: settings_rows(sums, ticks) for name, sums in stored.items()}
