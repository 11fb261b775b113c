"""The Markdown tables the benchmark scripts print."""
from __future__ import annotations

from collections.abc import Sequence


def markdown_table(head: Sequence[str], rows: Sequence[Sequence[str]], left: int = 0) -> str:
    """head and rows of string cells as a Markdown table, each column as wide as
    its widest full row; the first `left` columns left-aligned, the others
    right-aligned. A row with fewer cells than head (a failed case and its
    error) is written unpadded, so a long message does not widen the columns."""
    full = [row for row in rows if len(row) == len(head)]
    widths = [max(len(row[i]) for row in [head, *full]) for i in range(len(head))]
    fmt = lambda cells: "| " + " | ".join(
        c.ljust(w) if i < left else c.rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    out = [fmt(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [fmt(row) if len(row) == len(head) else "| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)
