"""One way from a name to a policy: a scripted yardstick, `pretrained`, a run or a checkpoint.

Scripted names are those of `policies.scripted.SCRIPTED`; `pretrained` is the
checkpoint shipped in policies/pretrained/; anything else is a path to a run
directory or a checkpoint file, read by the loader the caller passes in (the
checkpoint format is train's, a floor above this one:
`train.run.policy.load_trained`). `scripts/replay.py`, `python -m
train.evaluate` and tournaments all name their policies this way.

A trained policy plays in worlds of another population cap than it was
trained at (its parameters do not depend on the cap), but only where its
observations have the shapes it was trained on, and, with one parameter set
per population, only where the worlds have as many populations: slot i plays
with the parameters of population i % P (docs/rules.md §3.1).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import jax

import nmmo_jax as nj

from .baseline import ActorCritic
from .scripted import SCRIPTED

Policy = Callable[[jax.Array, nj.Obs], nj.Actions]  # one world: obs [A, ...] -> Actions [A]
# A checkpoint path -> (model, parameters, the env Config of the worlds it trained in).
Loader = Callable[[Path], tuple[ActorCritic, Any, nj.Config]]
OBS_FIELDS = ("vision", "max_entities")  # they set the observation's shapes (docs/rules.md §5)


class PolicyError(ValueError):
    """A name that names no policy that can be played here; the message leads with it."""


def pretrained_path() -> Path:
    """What `pretrained` names: policies/pretrained/default.npz (see its README)."""
    return Path(__file__).resolve().parent / "pretrained" / "default.npz"


@dataclasses.dataclass(frozen=True)
class Resolved:
    """What a name resolved to: a scripted policy, or a trained model with its
    parameters and `config`, the env Config of the worlds it trained in.

    name: a label for it (the scripted name, `pretrained`, or the checkpoint's file
    or directory name).
    """

    name: str
    scripted: Policy | None = None
    model: ActorCritic | None = None
    params: Any = None
    config: nj.Config | None = None

    def model_for(self, world: nj.Config) -> ActorCritic:
        """The trained model for worlds of `world` (the same parameters fit); PolicyError
        naming the field when its observations would not fit (`check_fits`)."""
        check_fits(self.name, self.config, self.model.shared, world)
        return ActorCritic(world, width=self.model.width, shared=self.model.shared,
                           entity_dim=self.model.net.entity_dim,
                           navigation=self.model.navigation,
                           world_inputs=self.model.world_inputs)

    def policy(self, world: nj.Config | None = None, game: nj.Params | None = None) -> Policy:
        """(key, obs [A, ...]) -> Actions, actions sampled; for worlds of `world`
        (None: those it trained in; a scripted policy plays in any) playing the
        numbers `game` (None: v1.3's; read only by a policy that sees them)."""
        if self.scripted is not None:
            return self.scripted
        model = self.model if world is None else self.model_for(world)
        return model.policy_fn(self.params, game)


def check_fits(name: str, trained: nj.Config, shared: bool, world: nj.Config) -> None:
    """PolicyError (one line, naming the policy and the field) unless a model trained
    in worlds of `trained` (one parameter set for all populations if `shared`) can
    play in worlds of `world`."""
    for field in OBS_FIELDS + (() if shared else ("num_populations",)):
        mine, theirs = getattr(trained, field), getattr(world, field)
        if mine != theirs:
            why = ("one parameter set per population" if field == "num_populations"
                   else "observation shapes differ")
            raise PolicyError(f"{name!r}: trained with Config.{field}={mine}, the worlds "
                              f"have {field}={theirs} ({why})")


def resolve(spec: str, load: Loader, scripted: bool = True) -> Resolved:
    """The policy `spec` names: a name of policies.scripted.SCRIPTED (unless `scripted`
    is False: then spec is always a path or `pretrained`), `pretrained`, or a run
    directory or checkpoint file that `load` reads.

    PolicyError (one line, leading with repr(spec)) for an unknown name, a missing
    path or a checkpoint that `load` refuses (ValueError, OSError or KeyError).
    """
    if scripted and spec in SCRIPTED:
        return Resolved(spec, scripted=SCRIPTED[spec])
    path = pretrained_path() if spec == "pretrained" else Path(spec)
    if not path.exists():
        if spec == "pretrained":
            raise PolicyError(f"{spec!r}: no pretrained checkpoint at {path}")
        if scripted and "/" not in spec and not spec.endswith(".npz"):
            raise PolicyError(f"{spec!r}: not a scripted policy ({', '.join(SCRIPTED)}), "
                              "a run directory, a checkpoint or `pretrained`")
        raise PolicyError(f"{spec!r}: no such run directory or checkpoint file")
    try:
        model, params, config = load(path)
    except (ValueError, OSError, KeyError) as e:
        raise PolicyError(f"{spec!r}: cannot load this checkpoint: {e}") from e
    return Resolved("pretrained" if spec == "pretrained" else path.name, model=model,
                    params=params, config=config)
