"""Run logging: a row per log interval in OUT/metrics.csv, TensorBoard events
when tensorboard is installed, and a live progress bar."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

from tqdm import tqdm

from ..evaluation.matches import ITEM_SUMS

COLUMNS = ("update", "agent_steps", "wall_s", "agent_steps_per_s", "mean_lifetime",
           "lives_ended", "alive_mean", "deaths_lava", "deaths_starvation", "deaths_combat",
           "policy_loss", "value_loss", "entropy", "approx_kl", "clip_frac",
           "restarts")  # restarts: process-group restarts so far (multi-process runs only)
# With NPCs on, after deaths_combat: the NPCs the agents killed (one for each agent that
# hit an NPC in the tick it died) and the agents' deaths by NPCs, counts per row as the
# deaths_* are.
NPC_COLUMNS = ("npc_kills", "npc_deaths")
# With items on, after those: the training's item sums (ITEM_SUMS): the summed level of a
# living agent's equipped items and its gold, means over agent-ticks alive, and the items
# harvested, a count per row.
ITEM_COLUMNS = ITEM_SUMS


def columns(npcs: bool = False, items: bool = False) -> tuple[str, ...]:
    """metrics.csv's columns: COLUMNS, with NPC_COLUMNS (when `npcs`) and then
    ITEM_COLUMNS (when `items`) after deaths_combat."""
    at = COLUMNS.index("deaths_combat") + 1
    return (COLUMNS[:at] + (NPC_COLUMNS if npcs else ()) + (ITEM_COLUMNS if items else ())
            + COLUMNS[at:])


class RunLogger:
    """Appends metric rows (a resumed run continues the same file).

    `resumed_at`: the update of the checkpoint a resumed run starts from; rows
    after it (logged before the run was killed, their checkpoint never written)
    are dropped, so that each update has one row. `npcs`, `items`: the run's
    worlds have NPCs, items, so a new file has the NPC_COLUMNS, ITEM_COLUMNS too
    (`columns`); a file that exists keeps the columns of its header."""

    def __init__(self, out: Path, total_steps: int, start_steps: int = 0,
                 resumed_at: int | None = None, npcs: bool = False, items: bool = False):
        self.path = out / "metrics.csv"
        self.columns = columns(npcs, items)
        if self.path.exists():
            with open(self.path, newline="") as f:
                self.columns = tuple(next(csv.reader(f), ())) or self.columns
        if resumed_at is not None and self.path.exists():
            self._truncate(resumed_at)
        new = not self.path.exists()
        self._file = open(self.path, "a", newline="")
        self._csv = csv.DictWriter(self._file, fieldnames=self.columns, extrasaction="ignore")
        if new:
            self._csv.writeheader()
        try:
            from tensorboard.summary import Writer
            self._tb = Writer(str(out / "tb"))
        except ImportError:  # optional extra
            self._tb = None
        self._bar = tqdm(total=total_steps, initial=min(start_steps, total_steps), unit="step",
                         unit_scale=True, dynamic_ncols=True, file=sys.stderr,
                         disable=None if sys.stderr.isatty() else False, mininterval=1.0)

    def _truncate(self, update: int) -> None:
        with open(self.path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["update"]) <= update]
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(self.path)

    def set_total(self, steps: int) -> None:
        """The agent-steps at which the run is expected to stop (the bar's end)."""
        self._bar.total = max(steps, self._bar.n)

    def log(self, row: dict) -> None:
        self._csv.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        self._file.flush()
        if self._tb is not None:
            for k, v in row.items():
                if k not in ("update", "agent_steps"):
                    self._tb.add_scalar(f"train/{k}", float(v), step=int(row["agent_steps"]))
            self._tb.flush()
        self._bar.n = min(int(row["agent_steps"]), self._bar.total)
        self._bar.set_postfix_str(
            f"{row['agent_steps_per_s'] / 1e3:.0f}k step/s  life {row['mean_lifetime']:.1f}  "
            f"alive {row['alive_mean']:.0f}  vloss {row['value_loss']:.3f}  "
            f"ent {row['entropy']:.2f}", refresh=False)
        self._bar.refresh()

    def write(self, message: str) -> None:
        """Print a line without breaking the progress bar."""
        self._bar.write(message, file=sys.stderr)

    def close(self) -> None:
        self._bar.close()
        self._file.close()
        if self._tb is not None:
            self._tb.close()
