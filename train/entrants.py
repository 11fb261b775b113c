"""Tournament entrants: a scripted policy's name, a run directory, a checkpoint or `pretrained`.

A trained entrant plays in worlds of another population cap than it was
trained at (its parameters do not depend on the cap), but only where its
observations have the shapes it was trained on, and, with one parameter set
per population, only where the worlds have as many populations: slot i
plays with the parameters of population i % P (docs/rules.md §3.1).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import nmmo_jax as nj

from .checkpoint import CheckpointError
from .evaluate import load_trained, scripted_policies
from .matches import Policy

OBS_FIELDS = ("vision", "max_entities")  # they set the observation's shapes (docs/rules.md §5)


@dataclasses.dataclass(frozen=True)
class Entrant:
    """One entrant: its label, and either a scripted policy or a trained model.

    config: the env Config it was trained on (None when scripted).
    """

    name: str
    scripted: Policy | None = None
    model: Any = None
    params: Any = None
    config: nj.Config | None = None

    def policy(self, world: nj.Config) -> Policy:
        """(key, obs [A, ...]) -> Actions in worlds of `world`; ValueError naming
        the entrant and the field when its observations would not fit."""
        if self.scripted is not None:
            return self.scripted
        check_fits(self.name, self.config, self.model.shared, world)
        model = type(self.model)(world, width=self.model.width, shared=self.model.shared,
                                 entity_dim=self.model.net.entity_dim,
                                 navigation=self.model.navigation)
        return model.policy_fn(self.params)


def check_fits(name: str, trained: nj.Config, shared: bool, world: nj.Config) -> None:
    """ValueError (one line, naming the entrant and the field) unless a model
    trained on `trained` can play in `world`."""
    fields = OBS_FIELDS + (() if shared else ("num_populations",))
    for field in fields:
        mine, theirs = getattr(trained, field), getattr(world, field)
        if mine != theirs:
            why = ("one parameter set per population" if field == "num_populations"
                   else "observation shapes differ")
            raise ValueError(f"entrant {name!r}: trained with Config.{field}={mine}, the "
                             f"tournament's worlds have {field}={theirs} ({why})")


def load_entrant(spec: str, name: str | None = None) -> Entrant:
    """The entrant `spec` names, labelled `name` (default: spec).

    ValueError (one line, naming the entrant) for an unknown name or a missing
    or unreadable checkpoint.
    """
    name = name or spec
    scripted = scripted_policies()
    if spec in scripted:
        return Entrant(name, scripted=scripted[spec])
    if spec != "pretrained" and not Path(spec).exists():
        if "/" in spec or spec.endswith(".npz"):
            raise ValueError(f"entrant {spec!r}: no such run directory or checkpoint file")
        raise ValueError(f"entrant {spec!r}: not a scripted policy ({', '.join(scripted)}), "
                         "a run directory, a checkpoint or `pretrained`")
    try:
        model, params, config = load_trained(spec)
    except CheckpointError as e:
        raise ValueError(f"entrant {spec!r}: {e}") from None
    return Entrant(name, model=model, params=params, config=config)


def labels(specs: Sequence[str]) -> list[str]:
    """Unique labels for the entrants: the spec, with #2, #3, ... on repeats."""
    out, seen = [], {}
    for spec in specs:
        spec = spec.rstrip("/") or spec
        seen[spec] = seen.get(spec, 0) + 1
        out.append(spec if seen[spec] == 1 else f"{spec}#{seen[spec]}")
    return out
