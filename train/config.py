"""TrainConfig: every knob of `python -m train`, validated at the boundary."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Callable

import nmmo_jax as nj
from envs.spaces import check_seed

PRESETS = nj.Config.PRESETS
# Fields holding a tuple of strings, one per use of a repeatable flag.
REPEATED_FIELDS = ("params", "randomize")


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters and run settings. Field `x_y` is the CLI flag `--x-y`."""

    preset: str = "default"
    num_agents: int = 0  # agent slots per world, the population cap; 0 = the preset's
    num_worlds: int = 16
    total_steps: int = 150_000_000  # agent-slot steps (num_worlds * num_agents per tick)
    minutes: float = 12.0  # training wall-clock budget over all sessions of a run; 0 = none
    seed: int = 0
    # PPO. The defaults are the best recipe of docs/experiments.md: a longer
    # horizon, a small entropy bonus, a kill penalty, one shared parameter set and
    # fresh maps every 3,000 ticks.
    rollout_len: int = 32
    max_ticks: int = 3000  # replace a world by a fresh map at this tick; 0 = persistent worlds
    # The game's numbers (nmmo_jax.Params): fixed changes "FIELD=VALUE", and fields each
    # world draws at every reset (start, each max_ticks replacement) "FIELD=LO:HI". A field
    # in both is drawn in training and evaluated at its --params value.
    params: tuple[str, ...] = ()
    randomize: tuple[str, ...] = ()
    gamma: float = 0.995
    gae_lambda: float = 0.95
    lr: float = 1e-3
    lr_decay_steps: int = 0  # agent-steps over which lr falls linearly to 0; 0 = constant
    clip_eps: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.002
    kill_penalty: float = 1.0  # training reward -x per kill (train/reward.py); 0 = v1.3's reward
    vitals_shaping: float = 0.0  # training reward + x * vitals_bonus (train/reward.py); 0 = none
    max_grad_norm: float = 0.5
    epochs: int = 2
    num_minibatches: int = 32  # per epoch; each holds rollout_len / num_minibatches ticks of every world
    # Model
    width: int = 32
    shared_params: bool = True  # one parameter set for every population
    navigation: bool = True  # inputs hold the paths to food and water (policies/navigation.py)
    # Loop
    devices: int = 0  # local devices the worlds are split over; 0 = as many as divide num_worlds
    # Where it runs (train.distributed): one process, N local processes, N processes
    # started by hand (one per host), or N started and restarted by Ray (train.cluster).
    processes: int = 0  # launch this many cooperating local JAX processes; 0 = this one alone
    coordinator: str = ""  # HOST:PORT of process 0 of a multi-process run; "" = not one
    num_processes: int = 0  # processes of that run (with --coordinator)
    process_id: int = 0  # this process's index in it; process 0 writes logs and checkpoints
    ray_workers: int = 0  # JAX processes Ray starts, one per node; 0 = no Ray (train.cluster)
    ray_address: str = ""  # join a running Ray cluster (`ray start`); "" = start a local one
    updates_per_chunk: int = 10  # updates fused in one jitted call between logs/checkpoints
    checkpoint_every: int = 5  # chunks
    eval_ticks: int = 1000  # counted ticks of each evaluation setting (fresh, settled)
    eval_worlds: int = 16  # held-out maps of the closing evaluation
    eval_warmup: int = 2000  # ticks before the settled window

    def __post_init__(self) -> None:
        for name in REPEATED_FIELDS:  # a list (from JSON or argparse) becomes a hashable tuple
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        self.validate()

    @property
    def env_config(self) -> nj.Config:
        return nj.Config.preset(self.preset, **({"num_agents": self.num_agents}
                                                 if self.num_agents else {}))

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
        return self.rollout_len * self.num_worlds * self.env_config.num_agents

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The fields as JSON has them (the repeated flags' tuples as lists), as saved."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, saved: dict) -> "TrainConfig":
        """The config a run saved: fields it lacks take their defaults, fields this
        code no longer has are ignored. ValueError if a value is no longer valid."""
        return cls(**{f.name: saved[f.name] for f in fields(cls) if f.name in saved})

    def resumed(self, given: dict) -> "TrainConfig":
        """This (saved) run's config continued with the flags `given` {field: value}:
        those in RESUMABLE_CHANGES replace the saved values (the placement is not
        inherited: not given, it is one process); any other that differs is refused
        with a ValueError naming its flag."""
        fresh = self.replace(**{name: getattr(TrainConfig, name) for name in PLACEMENT_FIELDS})
        clash = _conflicts(self.to_dict(), fresh.replace(**given))
        if clash:
            allowed = ", ".join(sorted(_flag(n) for n in RESUMABLE_CHANGES))
            raise ValueError("; ".join(f"{_flag(name)}={now!r}: the run has {_flag(name)}={was!r}"
                                       for name, was, now in clash)
                             + f" (--resume continues a run with its own settings; only "
                               f"{allowed} may be given)")
        return fresh.replace(**given)

    def validate(self) -> None:
        """Raise ValueError naming the CLI flag of the first bad value."""

        def bad(name: str, why: str) -> None:
            raise ValueError(f"{_flag(name)}={getattr(self, name)!r}: {why}")

        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("float", float) and (isinstance(value, bool) or not isinstance(
                    value, (int, float)) or not math.isfinite(value)):
                bad(f.name, "must be a finite number")
        check_seed(self.seed, "--seed")
        if self.preset not in PRESETS:
            bad("preset", f"choose one of {sorted(PRESETS)}")
        if not isinstance(self.num_agents, int) or isinstance(self.num_agents, bool) \
                or self.num_agents < 0:
            bad("num_agents", "must be an integer >= 0 (0 = the preset's)")
        try:
            self.env_config
        except ValueError as e:
            bad("num_agents", f"the {self.preset!r} preset refuses it: {e}")
        for name in ("num_worlds", "total_steps", "rollout_len", "epochs", "num_minibatches",
                     "width", "updates_per_chunk", "checkpoint_every", "eval_ticks", "eval_worlds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                bad(name, "must be an integer >= 1")
        for name, zero in (("max_ticks", "worlds are never replaced"),
                           ("lr_decay_steps", "constant learning rate"),
                           ("devices", "all local devices that divide num_worlds"),
                           ("ray_workers", "no Ray")):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                bad(name, f"must be an integer >= 0 (0 = {zero})")
        if not isinstance(self.eval_warmup, int) or isinstance(self.eval_warmup, bool) \
                or self.eval_warmup < 0:
            bad("eval_warmup", "must be an integer >= 0")
        if self.minutes < 0:
            bad("minutes", "must be >= 0 (0 means no time limit)")
        for name in ("gamma", "gae_lambda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                bad(name, "must be in [0, 1]")
        for name in ("lr", "clip_eps", "max_grad_norm"):
            if not getattr(self, name) > 0:
                bad(name, "must be > 0")
        for name in ("vf_coef", "ent_coef", "kill_penalty", "vitals_shaping"):
            if getattr(self, name) < 0:
                bad(name, "must be >= 0")
        self._validate_game()
        if self.rollout_len % self.num_minibatches:
            bad("num_minibatches", f"must divide --rollout-len={self.rollout_len}")
        if self.devices and self.num_worlds % self.devices:
            bad("devices", f"must divide --num-worlds={self.num_worlds}")
        if not isinstance(self.ray_address, str):
            bad("ray_address", "must be a string (HOST:PORT of a Ray head, or empty)")
        self._validate_placement(bad)

    def _validate_game(self) -> None:
        """--params and --randomize: tuples of well-formed "FIELD=VALUE" / "FIELD=LO:HI"
        strings naming each Params field once, with values the game accepts; and
        --randomize only where worlds are reset (--max-ticks > 0)."""
        for name in REPEATED_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{_flag(name)}={value!r}: must be a tuple of strings "
                                 f"{'FIELD=VALUE' if name == 'params' else 'FIELD=LO:HI'}")
        _check_entries("--params", self.params, _assignments,
                       lambda one: nj.default_params(self.env_config, **one),
                       lambda: self.game_params)
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

    def flags(self, changed_only: bool = False) -> list[str]:
        """The command line of this config (a flag per field, a repeated flag per entry of
        --params and --randomize); with changed_only, only fields that differ from the
        defaults."""
        argv = []
        for f in fields(self):
            value, flag = getattr(self, f.name), _flag(f.name)
            if changed_only and value == f.default:
                continue
            if isinstance(value, bool):
                argv.append(flag if value else "--no-" + flag[2:])
            elif f.name in REPEATED_FIELDS:
                argv += [f"{flag}={text}" for text in value]  # "=": a value may start with "-"
            else:
                argv += [flag, str(value)]
        return argv

    def _validate_placement(self, bad) -> None:
        """The flags of where the run goes: one way at a time, process counts that divide
        the worlds, a coordinator address HOST:PORT and a process id in range."""
        for name, zero in (("processes", "one process"),
                           ("num_processes", "not a multi-process run")):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                bad(name, f"must be an integer >= 0 (0 = {zero})")
        if not isinstance(self.coordinator, str):
            bad("coordinator", "must be a string HOST:PORT")
        ways = [flag for flag, on in (("--processes", self.processes),
                                      ("--coordinator", self.coordinator),
                                      ("--ray-workers/--ray-address",
                                       self.ray_workers or self.ray_address)) if on]
        if len(ways) > 1:
            raise ValueError(f"{' and '.join(ways)}: give one way to start the processes")
        if self.coordinator:
            host, _, port = self.coordinator.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                bad("coordinator", "must be HOST:PORT, a host name or address and a port "
                                   "in 1..65535")
            if self.num_processes < 1:
                bad("num_processes", "must be an integer >= 1 with --coordinator")
        elif self.num_processes:
            bad("num_processes", "needs --coordinator HOST:PORT")
        n = self.num_processes or 1
        if not isinstance(self.process_id, int) or isinstance(self.process_id, bool) \
                or not 0 <= self.process_id < n:
            bad("process_id", f"must be in 0..{n - 1} (--num-processes={self.num_processes})")
        for name in ("processes", "num_processes", "ray_workers"):
            value = getattr(self, name)
            if value and self.num_worlds % value:
                bad(name, f"must divide --num-worlds={self.num_worlds}")
            if value and self.devices and (self.num_worlds // value) % self.devices:
                bad("devices", f"must divide the worlds of each process "
                               f"({self.num_worlds // value} with {_flag(name)}={value})")


# Fields that only bound or checkpoint the run: runs differing in them share a compilation.
BUDGET_FIELDS = frozenset({"total_steps", "minutes", "eval_ticks", "eval_worlds", "eval_warmup",
                           "checkpoint_every"})
# Where a run goes: given anew by each session (a resumed run does not inherit them), so
# a run may move between one process, several and a cluster; checkpoints are the same.
PLACEMENT_FIELDS = frozenset({"processes", "coordinator", "num_processes", "process_id",
                              "ray_workers", "ray_address"})
# Fields that may differ between a run and its resumption: the budget, `devices`,
# which changes only the order of float sums, not the algorithm, and the placement.
RESUMABLE_CHANGES = BUDGET_FIELDS | PLACEMENT_FIELDS | {"devices"}


def _check_entries(flag: str, texts: tuple[str, ...], parse: Callable, check_one: Callable,
                   together: Callable) -> None:
    """Check a repeated flag's entries: each alone first (so that the error names the
    one at fault), then no field twice (`parse` of all), then all of them together
    (terrain thresholds); a ValueError prefixed with the flag."""
    for text in texts:
        try:
            check_one(parse((text,)))
        except ValueError as e:
            raise ValueError(_prefixed(flag, text, e)) from None
    parse(texts)
    try:
        together()
    except ValueError as e:
        raise ValueError(f"{flag}: {e}") from None


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


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


def _prefixed(flag: str, text: str, error: ValueError) -> str:
    """error's message led by the flag and entry it is about (once)."""
    message = str(error)
    return message if message.startswith(flag) else f"{flag} {text}: {message}"


def _conflicts(saved: dict, current: TrainConfig) -> list[tuple[str, object, object]]:
    """(field, saved value, current value) of the fields that make `current`
    incompatible with a saved run."""
    out = []
    for f in fields(TrainConfig):
        was = saved.get(f.name, f.default)  # a field newer than the file: its default
        was, now = (tuple(v) if isinstance(v, list) else v  # JSON has lists, fields tuples
                    for v in (was, getattr(current, f.name)))
        if f.name not in RESUMABLE_CHANGES and was != now:
            out.append((f.name, was, now))
    return out


def differences(saved: dict, current: TrainConfig) -> list[str]:
    """Names and values of fields that make `current` incompatible with a saved run."""
    return [f"{name}: checkpoint has {was!r}, this run has {now!r}"
            for name, was, now in _conflicts(saved, current)]
