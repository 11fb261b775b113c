"""TrainConfig: every setting of `python -m train`, validated at the boundary.

A run's settings come in three parts: PPO's own (`ppo`, train.ppo.config's
PPOConfig), where the run goes (`placement`, train.distribute.placement's
Placement) and, as this class's own fields, the worlds, the budget and the
closing evaluation. The flags and the settings a checkpoint saves are flat,
one name per field of any part (`--gamma`, `--devices`, `--num-worlds`):
`TrainConfig.of`, `get`, `replace`, `to_dict`, `from_dict` and `flags` take
and give those names.
"""
from __future__ import annotations

import dataclasses
from dataclasses import Field, dataclass, fields
from typing import Any, Callable

import nmmo_jax as nj
from envs.spaces import check_seed

from .distribute.placement import Placement
from .flags import check_count, check_numbers, flag, refuse
from .ppo.config import PPOConfig

PRESETS = nj.Config.PRESETS
# Fields holding a tuple of strings, one per use of a repeatable flag.
REPEATED_FIELDS = ("params", "randomize")
PARTS = {"ppo": PPOConfig, "placement": Placement}
# Every setting's flat name, in the order of `--help` and of a saved config.
ORDER = ("preset", "num_agents", "num_npcs", "inventory_slots", "professions", "num_worlds", "total_steps", "minutes", "seed", "init_from", "rollout_len",
         "max_ticks", "params", "randomize", "gamma", "gae_lambda", "lr", "lr_decay_steps",
         "clip_eps", "vf_coef", "ent_coef", "kill_penalty", "vitals_shaping", "max_grad_norm",
         "epochs", "num_minibatches", "width", "shared_params", "navigation", "sees_params",
         "devices",
         "processes", "coordinator", "num_processes", "process_id", "ray_workers", "ray_address",
         "updates_per_chunk", "checkpoint_every", "eval_ticks", "eval_worlds", "eval_warmup")


@dataclass(frozen=True)
class TrainConfig:
    """The settings of a run: the worlds, the budget, the evaluation, and the parts
    `ppo` and `placement`. Setting `x_y` of any part is the CLI flag `--x-y`."""

    preset: str = "default"
    num_agents: int = 0  # agent slots per world, the population cap; 0 = the preset's
    # The game's systems beyond v1.3 (docs/rules.md §9, §10); -1 = the preset's (none
    # but for nmmo2, which has them all).
    num_npcs: int = -1  # NPC slots per world; 0 = none
    inventory_slots: int = -1  # item slots per agent; 0 = no items
    professions: int = -1  # 1 = resource tiles and professions (needs items), 0 = off
    num_worlds: int = 16
    total_steps: int = 150_000_000  # agent-slot steps (num_worlds * num_agents per tick)
    minutes: float = 12.0  # training wall-clock budget over all sessions of a run; 0 = none
    seed: int = 0
    # Start from the policy parameters of this run directory, checkpoint or policy export
    # (fine-tuning, a curriculum); "" = fresh initialisation. The optimizer state, the
    # worlds and the update count start afresh; the model must have the same shapes.
    init_from: str = ""
    max_ticks: int = 3000  # replace a world by a fresh map at this tick; 0 = persistent worlds
    # The game's numbers (nmmo_jax.Params): fixed changes "FIELD=VALUE", and fields each
    # world draws at every reset (start, each max_ticks replacement) "FIELD=LO:HI". A field
    # in both is drawn in training and evaluated at its --params value.
    params: tuple[str, ...] = ()
    randomize: tuple[str, ...] = ()
    updates_per_chunk: int = 10  # updates fused in one jitted call between logs/checkpoints
    checkpoint_every: int = 5  # chunks
    eval_ticks: int = 1000  # counted ticks of each evaluation setting (fresh, settled)
    eval_worlds: int = 16  # held-out maps of the closing evaluation
    eval_warmup: int = 2000  # ticks before the settled window
    ppo: PPOConfig = PPOConfig()
    placement: Placement = Placement()

    def __post_init__(self) -> None:
        for name in REPEATED_FIELDS:  # a list (from JSON or argparse) becomes a hashable tuple
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        self.validate()

    # ---------------------------------------------------------------- flat settings
    @classmethod
    def of(cls, **settings) -> "TrainConfig":
        """The config of flat settings {name: value} (of any part); the rest default."""
        own, parts = _split(settings)
        return cls(**own, **{part: PARTS[part](**values) for part, values in parts.items()})

    def get(self, name: str) -> Any:
        """The value of flat setting `name`."""
        part = _PART_OF.get(name)
        return getattr(getattr(self, part) if part else self, name)

    def replace(self, **changes) -> "TrainConfig":
        """This config with flat settings (or whole parts) changed."""
        own, parts = _split(changes)
        return dataclasses.replace(self, **own, **{
            part: dataclasses.replace(getattr(self, part), **values)
            for part, values in parts.items()})

    def to_dict(self) -> dict:
        """The flat settings as JSON has them (the repeated flags' tuples as lists), as saved."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in ((name, self.get(name)) for name in ORDER)}

    @classmethod
    def from_dict(cls, saved: dict) -> "TrainConfig":
        """The config a run saved: settings it lacks take their defaults, settings this
        code no longer has are ignored. ValueError if a value is no longer valid."""
        return cls.of(**{name: saved[name] for name in ORDER if name in saved})

    def flags(self, changed_only: bool = False) -> list[str]:
        """The command line of this config (a flag per setting, a repeated flag per entry
        of --params and --randomize); with changed_only, only settings that differ from
        the defaults."""
        argv = []
        for f in setting_fields():
            value, name = self.get(f.name), flag(f.name)
            if changed_only and value == f.default:
                continue
            if isinstance(value, bool):
                argv.append(name if value else "--no-" + name[2:])
            elif f.name in REPEATED_FIELDS:
                argv += [f"{name}={text}" for text in value]  # "=": a value may start with "-"
            else:
                argv += [name, str(value)]
        return argv

    # ---------------------------------------------------------------- derived
    @property
    def env_config(self) -> nj.Config:
        sizes = {"num_agents": self.num_agents} if self.num_agents else {}
        systems = {name: getattr(self, name) for name in SYSTEM_FIELDS if getattr(self, name) != -1}
        return nj.Config.preset(self.preset, **sizes, **systems)

    @property
    def game_params(self) -> nj.Params:
        """The run's fixed numbers: v1.3's for `env_config` with `--params` applied
        (leaves are scalars, or [2] for damage pairs). The closing evaluation plays
        them; randomized fields are drawn around them during training only."""
        return nj.default_params(self.env_config, **_assignments(self.params))

    @property
    def env_params(self) -> nj.Params | None:
        """`game_params` as the worlds take them: None without --params (v1.3's
        numbers, compiled in as constants, the program of a run without the flag)."""
        return self.game_params if self.params else None

    @property
    def param_ranges(self) -> nj.ParamRanges | None:
        """The `--randomize` ranges over `game_params` (fields not named stay fixed), or
        None when nothing is randomized."""
        if not self.randomize:
            return None
        return nj.param_ranges(self.game_params, _ranges(self.randomize), self.env_config)

    @property
    def steps_per_update(self) -> int:
        return self.ppo.rollout_len * self.num_worlds * self.env_config.num_agents

    def resumed(self, given: dict) -> "TrainConfig":
        """This (saved) run's config continued with the flags `given` {name: value}:
        those in RESUMABLE_CHANGES replace the saved values (the processes are not
        inherited: not given, it is one process); any other that differs is refused
        with a ValueError naming its flag."""
        fresh = self.replace(placement=self.placement.alone())
        clash = _conflicts(self.to_dict(), fresh.replace(**given))
        if clash:
            allowed = ", ".join(sorted(flag(n) for n in RESUMABLE_CHANGES))
            raise ValueError("; ".join(f"{flag(name)}={now!r}: the run has {flag(name)}={was!r}"
                                       for name, was, now in clash)
                             + f" (--resume continues a run with its own settings; only "
                               f"{allowed} may be given)")
        return fresh.replace(**given)

    # ---------------------------------------------------------------- checks
    def validate(self) -> None:
        """Raise ValueError naming the CLI flag of the first bad value (the parts check
        their own when they are made)."""
        check_numbers(self)
        check_seed(self.seed, "--seed")
        if self.preset not in PRESETS:
            refuse(self, "preset", f"choose one of {sorted(PRESETS)}")
        check_count(self, "num_agents", 0, "the preset's")
        check_count(self, "num_npcs", -1, "no NPCs; -1 = the preset's")
        check_count(self, "inventory_slots", -1, "no items; -1 = the preset's")
        if self.professions not in (-1, 0, 1) or isinstance(self.professions, bool):
            refuse(self, "professions", "must be 1 (on), 0 (off) or -1 (the preset's)")
        try:
            self.env_config
        except ValueError as e:
            field = next((n for n in SYSTEM_FIELDS if f"Config.{n}" in str(e)),
                         next((n for n in SYSTEM_FIELDS if n in str(e)), "num_agents"))
            refuse(self, field, f"the {self.preset!r} preset refuses it: {e}")
        for name in ("num_worlds", "total_steps", "updates_per_chunk", "checkpoint_every",
                     "eval_ticks", "eval_worlds"):
            check_count(self, name)
        check_count(self, "max_ticks", 0, "worlds are never replaced")
        check_count(self, "eval_warmup", 0)
        if self.minutes < 0:
            refuse(self, "minutes", "must be >= 0 (0 means no time limit)")
        self._validate_game()
        self.placement.check_worlds(self.num_worlds)

    def _validate_game(self) -> None:
        """--params and --randomize: tuples of well-formed "FIELD=VALUE" / "FIELD=LO:HI"
        strings naming each Params field once, with values the game accepts; and
        --randomize only where worlds are reset (--max-ticks > 0)."""
        for name in REPEATED_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{flag(name)}={value!r}: must be a tuple of strings "
                                 f"{'FIELD=VALUE' if name == 'params' else 'FIELD=LO:HI'}")
        _check_entries("--params", self.params, _assignments,
                       lambda one: nj.default_params(self.env_config, **one),
                       lambda: self.game_params)
        if self.ppo.sees_params and not self.randomize:
            raise ValueError("--sees-params: the policy sees the numbers that --randomize draws "
                             "for each world; without --randomize there is nothing to see")
        if not self.randomize:
            return
        if not self.max_ticks:
            raise ValueError(f"--randomize {self.randomize[0]}: a world draws its numbers only "
                             "when it is reset (at the start and every --max-ticks ticks), so "
                             "--max-ticks=0 (worlds never replaced) would keep the first draw; "
                             "give --max-ticks > 0")
        _check_entries("--randomize", self.randomize, _ranges,
                       lambda one: nj.param_ranges(self.game_params, one, self.env_config),
                       lambda: self.param_ranges)


# Settings that switch a system of the game on or off, -1 meaning the preset's.
SYSTEM_FIELDS = ("num_npcs", "inventory_slots", "professions")

# Which part holds each flat setting that is not TrainConfig's own field.
_PART_OF = {f.name: part for part, cls in PARTS.items() for f in fields(cls)}
_FIELDS = {f.name: f for f in fields(TrainConfig) if f.name not in PARTS} | {
    f.name: f for cls in PARTS.values() for f in fields(cls)}

# Settings that only bound or checkpoint the run: runs differing in them share a compilation.
BUDGET_FIELDS = frozenset({"total_steps", "minutes", "eval_ticks", "eval_worlds", "eval_warmup",
                           "checkpoint_every"})
# Settings that may differ between a run and its resumption: the budget, and the whole
# placement: `devices` changes only the order of float sums, not the algorithm, and the
# processes are given anew by each session (a run may move between one process, several
# and a cluster; its checkpoints are the same).
RESUMABLE_CHANGES = BUDGET_FIELDS | {f.name for f in fields(Placement)}
# Settings that do not enter the compiled program: the budget and where the first
# parameters come from.
UNCOMPILED_FIELDS = BUDGET_FIELDS | {"init_from"}


def setting_fields() -> list[Field]:
    """The dataclass Field of every flat setting (name, type, default), in ORDER."""
    return [_FIELDS[name] for name in ORDER]


def default(name: str) -> Any:
    """The default value of flat setting `name`."""
    return _FIELDS[name].default


def _split(settings: dict) -> tuple[dict, dict[str, dict]]:
    """(TrainConfig's own fields and whole parts, {part: its flat settings}) of
    `settings`; TypeError naming a name that is no setting."""
    own, parts = {}, {}
    for name, value in settings.items():
        if name in _PART_OF:
            parts.setdefault(_PART_OF[name], {})[name] = value
        elif name in _FIELDS or name in PARTS:
            own[name] = value
        else:
            raise TypeError(f"TrainConfig has no setting {name!r}")
    return own, parts


def _check_entries(flag_: str, texts: tuple[str, ...], parse: Callable, check_one: Callable,
                   together: Callable) -> None:
    """Check a repeated flag's entries: each alone first (so that the error names the
    one at fault), then no field twice (`parse` of all), then all of them together
    (terrain thresholds); a ValueError prefixed with the flag."""
    for text in texts:
        try:
            check_one(parse((text,)))
        except ValueError as e:
            raise ValueError(_prefixed(flag_, text, e)) from None
    parse(texts)
    try:
        together()
    except ValueError as e:
        raise ValueError(f"{flag_}: {e}") from None


def _assignments(texts: tuple[str, ...]) -> dict:
    """{field: value} of --params "FIELD=VALUE" entries (values unchecked); ValueError
    naming --params and the entry for bad syntax, a field that is not a Params field
    (a Config field included) or a field given twice."""
    out = {}
    for text in texts:
        try:
            (name, value), = nj.params.parse_assignments([text]).items()
        except ValueError as e:
            raise ValueError(_prefixed("--params", text, e)) from None
        if name in out:
            raise ValueError(f"--params {text}: {name} is given twice")
        out[name] = value
    return out


def _ranges(texts: tuple[str, ...]) -> dict:
    """{field: (low, high)} of --randomize "FIELD=LO:HI" entries (damage pairs
    "FIELD=B1,P1:B2,P2"; bounds unchecked); ValueError naming --randomize and the
    entry for bad syntax, a field that is not a Params field or a field given twice."""
    out = {}
    for text in texts:
        name, eq, bounds = (part.strip() for part in text.partition("="))
        low, colon, high = (part.strip() for part in bounds.partition(":"))
        if not eq or not colon or not name:
            raise ValueError(f"--randomize {text}: expected FIELD=LO:HI (a damage pair "
                             "FIELD=B1,P1:B2,P2)")
        try:
            bounds = (nj.params.parse_value(name, low), nj.params.parse_value(name, high))
        except ValueError as e:
            raise ValueError(_prefixed("--randomize", text, e)) from None
        if name in out:
            raise ValueError(f"--randomize {text}: {name} is given twice")
        out[name] = bounds
    return out


def _prefixed(flag_: str, text: str, error: ValueError) -> str:
    """error's message led by the flag and entry it is about (once)."""
    message = str(error)
    return message if message.startswith(flag_) else f"{flag_} {text}: {message}"


def _conflicts(saved: dict, current: TrainConfig) -> list[tuple[str, object, object]]:
    """(setting, saved value, current value) of the settings that make `current`
    incompatible with a saved run."""
    out = []
    for f in setting_fields():
        was = saved.get(f.name, f.default)  # a setting newer than the file: its default
        was, now = (tuple(v) if isinstance(v, list) else v  # JSON has lists, fields tuples
                    for v in (was, current.get(f.name)))
        if f.name in SYSTEM_FIELDS:  # -1 is the preset's value, which a run saved as 0
            preset = nj.Config.preset(saved.get("preset", current.preset))
            was, now = (int(getattr(preset, f.name)) if v == -1 else v for v in (was, now))
        if f.name not in RESUMABLE_CHANGES and was != now:
            out.append((f.name, was, now))
    return out


def differences(saved: dict, current: TrainConfig) -> list[str]:
    """Names and values of settings that make `current` incompatible with a saved run."""
    return [f"{name}: checkpoint has {was!r}, this run has {now!r}"
            for name, was, now in _conflicts(saved, current)]
