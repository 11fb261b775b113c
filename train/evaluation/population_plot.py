"""OUT/population.png: agents alive while training, against agent-steps and wall-clock."""
from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_population(metrics_csv: Path, out_png: Path, yardsticks: dict[str, float]) -> Path:
    """Two panels (x = agent-steps, x = wall-clock minutes) of metrics.csv's
    alive_mean (agents alive per training world), with a dashed line at each
    yardstick's level {name: mean alive} on the evaluation's settled worlds.
    Training worlds are replaced by fresh maps every `max_ticks` ticks, all at
    once, so their curve dips at each replacement."""
    with open(metrics_csv) as f:
        rows = [r for r in csv.DictReader(f) if r.get("alive_mean") not in (None, "", "nan")]
    steps = [float(r["agent_steps"]) for r in rows]
    minutes = [float(r["wall_s"]) / 60 for r in rows]
    alive = [float(r["alive_mean"]) for r in rows]
    colors = plt.get_cmap("tab10").colors[1:]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, x, label in ((axes[0], steps, "agent-steps"), (axes[1], minutes, "wall-clock (min)")):
        ax.plot(x, alive, label="PPO (training worlds)", color="tab:blue")
        for (name, level), color in zip(yardsticks.items(), colors):
            ax.axhline(level, linestyle="--", color=color, label=f"{name} (eval, settled)")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("agents alive per world")
    axes[1].legend(loc="best", fontsize="small")
    fig.suptitle("nmmo-jax: population while training")
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
