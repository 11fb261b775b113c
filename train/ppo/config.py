"""PPOConfig: PPO's own settings (horizon, discounting, loss, optimizer, network)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..flags import check_count, check_numbers, refuse


@dataclass(frozen=True)
class PPOConfig:
    """The hyperparameters of an update. Field `x_y` is the flag `--x-y` of `python -m train`.

    The defaults are the best recipe of docs/experiments.md: a longer horizon, a
    small entropy bonus, a kill penalty and one shared parameter set.
    """

    rollout_len: int = 32  # ticks of every world per update
    gamma: float = 0.995
    gae_lambda: float = 0.95
    lr: float = 1e-3
    lr_decay_steps: int = 0  # agent-steps over which lr falls linearly to 0; 0 = constant
    clip_eps: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.002
    kill_penalty: float = 1.0  # training reward -x per kill (reward.py); 0 = v1.3's reward
    vitals_shaping: float = 0.0  # training reward + x * vitals_bonus (reward.py); 0 = none
    max_grad_norm: float = 0.5
    epochs: int = 2
    num_minibatches: int = 32  # per epoch, each rollout_len / num_minibatches ticks of all worlds
    width: int = 32  # the network's hidden width
    shared_params: bool = True  # one parameter set for every population
    navigation: bool = True  # inputs hold the paths to food and water (policies/navigation.py)
    sees_params: bool = False  # inputs hold each world's --randomize draws (policies/world.py)

    def __post_init__(self) -> None:
        self.validate()

    def replace(self, **changes) -> "PPOConfig":
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """Raise ValueError naming the flag of the first bad value."""
        check_numbers(self)
        for name in ("rollout_len", "epochs", "num_minibatches", "width"):
            check_count(self, name)
        check_count(self, "lr_decay_steps", 0, "constant learning rate")
        for name in ("gamma", "gae_lambda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                refuse(self, name, "must be in [0, 1]")
        for name in ("lr", "clip_eps", "max_grad_norm"):
            if not getattr(self, name) > 0:
                refuse(self, name, "must be > 0")
        for name in ("vf_coef", "ent_coef", "kill_penalty", "vitals_shaping"):
            if getattr(self, name) < 0:
                refuse(self, name, "must be >= 0")
        if self.rollout_len % self.num_minibatches:
            refuse(self, "num_minibatches", f"must divide --rollout-len={self.rollout_len}")
