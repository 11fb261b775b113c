"""OUT/lifetime.png: mean lifetime against agent-steps and wall-clock."""
from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_lifetime(metrics_csv: Path, out_png: Path, baselines: dict[str, float]) -> Path:
    """Two panels (x = agent-steps, x = wall-clock minutes) with baseline lines."""
    with open(metrics_csv) as f:
        rows = [r for r in csv.DictReader(f) if r["mean_lifetime"] not in ("", "nan")]
    steps = [float(r["agent_steps"]) for r in rows]
    minutes = [float(r["wall_s"]) / 60 for r in rows]
    life = [float(r["mean_lifetime"]) for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, x, label in ((axes[0], steps, "agent-steps"), (axes[1], minutes, "wall-clock (min)")):
        ax.plot(x, life, label="PPO (training rollouts)", color="tab:blue")
        for (name, level), color in zip(baselines.items(), ("tab:red", "tab:green", "tab:orange")):
            ax.axhline(level, linestyle="--", color=color, label=f"{name} (eval)")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean lifetime of ended lives (ticks)")
    axes[1].legend(loc="best")
    fig.suptitle("nmmo-jax: mean lifetime while training")
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
