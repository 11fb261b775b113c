"""scripts/tables.py: the benchmark scripts' Markdown table."""
from scripts.tables import markdown_table


def test_columns_padded_aligned_and_an_error_row_left_as_is():
    text = markdown_table(("name", "n", "ms"), [("ab", "1", "2.5"), ("c", "1,234", "10.0"),
                                                ("failed", "error: a long message")], left=1)
    assert text.splitlines() == [
        "| name |     n |   ms |",
        "|------|-------|------|",
        "| ab   |     1 |  2.5 |",
        "| c    | 1,234 | 10.0 |",
        "| failed | error: a long message |",  # shorter than head: does not widen the columns
    ]
    assert markdown_table(("aa", "b"), [("x", "y")]).splitlines()[2] == "|  x | y |"
