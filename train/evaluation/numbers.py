"""The game's numbers as an evaluation records and names them: every field, or the changes."""
from __future__ import annotations

import nmmo_jax as nj

from .matches import match_params


def params_values(params: nj.Params | None, config: nj.Config) -> dict[str, float | int | list]:
    """{field: value} of every field of `params` (None: `default_params(config)`),
    as JSON numbers (a damage pair as [base, per_level]); None and the explicit
    defaults give the same dict. ValueError naming the field for a bad value."""
    return nj.params.values(match_params(params, config), config)


def params_changes(params: nj.Params | None, config: nj.Config) -> dict[str, float | int | list]:
    """{field: value} of the fields of `params` that differ from `default_params(config)`
    ({} for None or the defaults): what a result records of the numbers it was played with."""
    return nj.params.changes(match_params(params, config), config)


def describe_params(changes: dict) -> str:
    """One line naming the numbers of `params_changes` ("v1.3's" when there are none)."""
    if not changes:
        return "game numbers: v1.3's"
    show = lambda v: ",".join(f"{x:g}" for x in v) if isinstance(v, list) else f"{v:g}"
    return "game numbers: v1.3's but " + ", ".join(f"{k}={show(v)}" for k, v in changes.items())
