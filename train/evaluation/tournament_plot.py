"""OUT/tournament.png: per population cap, the share heatmap and the ratings with error bars."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .numbers import describe_params  # noqa: E402


def share_matrix(names: list[str], matches: list[dict]) -> tuple[np.ndarray, list[str]]:
    """float [N, N (+1)]: [i, j] = entrant i's share of the alive agents in its
    match against j (NaN where none), plus a last column of the free-for-all's
    shares when there is one. Returns (matrix, column labels)."""
    n = len(names)
    ffa = [m for m in matches if len(m["entrants"]) > 2]
    grid = np.full((n, n + len(ffa[:1])), np.nan)
    for m in matches:
        cols = [n] * len(m["entrants"]) if len(m["entrants"]) > 2 else None
        for k, name in enumerate(m["entrants"]):
            i = names.index(name)
            j = cols[k] if cols else names.index(m["entrants"][1 - k])
            grid[i, j] = m["rows"][name]["share"]
    return grid, names + (["free-for-all"] if ffa else [])


def plot_tournament(report: dict, out_png: Path) -> Path:
    """One row per cap of report["caps"] (train.evaluation.tournament's JSON): the share
    heatmap (row entrant against column entrant) and OpenSkill mu ± sigma; a
    title names report["params"] (the game numbers changed from v1.3's) if any."""
    names, caps = report["entrants"], report["caps"]
    fig, axes = plt.subplots(len(caps), 2, figsize=(11, 0.5 + (1.2 + 0.45 * len(names)) *
                                                    len(caps)), squeeze=False)
    for (cap, res), (heat, bars) in zip(caps.items(), axes):
        grid, cols = share_matrix(names, res["matches"])
        image = heat.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            if not np.isnan(v):
                heat.text(j, i, f"{v:.0%}", ha="center", va="center",
                          color="black" if v > 0.5 else "white")
        heat.set_xticks(range(len(cols)), cols, rotation=20, ha="right", fontsize="small")
        heat.set_yticks(range(len(names)), names, fontsize="small")
        heat.set_title(f"cap {cap}: share of the agents alive (row vs column)", fontsize="medium")
        fig.colorbar(image, ax=heat, fraction=0.04)
        mu = [res["ratings"][n]["mu"] for n in names]
        sigma = [res["ratings"][n]["sigma"] for n in names]
        bars.errorbar(mu, range(len(names)), xerr=sigma, fmt="o", capsize=4)
        bars.set_yticks(range(len(names)), names, fontsize="small")
        bars.invert_yaxis()
        anchor = f"{res['anchor']} fixed" if res["anchor"] else "unanchored"
        bars.set_title(f"cap {cap}: OpenSkill rating, mu ± sigma ({anchor})", fontsize="medium")
        bars.grid(alpha=0.3)
    if report.get("params"):
        fig.suptitle(describe_params(report["params"]), fontsize="medium")
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png
