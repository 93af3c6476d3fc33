"""The failure-mode table of an evaluation, or of two compared: one row a mode, then the summary.

Shared by the evaluation screen and the comparison screen.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from core.evaluate.compare import adjusted_p
from core.evaluate.result import Comparison, RateChange
from tui.widgets.plain import plain

VERDICT_STYLE = {"better": "green", "worse": "bold red", "unchanged": "dim"}
MODE_COLUMNS = ("mode", "before", "after", "diff", "95% CI", "Holm p", "verdict")
"""The p shown is the one the verdict used: Holm-adjusted for modes, the summary rows' own p."""
PASS_ROWS = ("tests pass", "own tests pass")
"""Rows that are outcomes, not flags: there are no flagged rollouts to drill down to."""


def mode_rows(result: Comparison) -> list[tuple[str, RateChange]]:
    """Modes that occur on either side first (most changed first), then the summary rows."""
    modes = sorted(
        result.modes.items(),
        key=lambda item: (-(item[1].before + item[1].after > 0), -abs(item[1].diff)),
    )
    own = result.pass_rate_own_tests
    return [
        *modes,
        ("overall", result.overall),
        (PASS_ROWS[0], result.pass_rate),
        *([(PASS_ROWS[1], own)] if own is not None else []),
    ]


def fill_modes(table: DataTable[Any], result: Comparison) -> list[str]:
    """Fill a modes table; returns the row keys (mode ids) in order."""
    table.clear(columns=True)
    table.add_columns(*MODE_COLUMNS)
    keys = []
    for name, entry in mode_rows(result):
        lo, hi = entry.ci_diff
        table.add_row(
            plain(name),
            f"{entry.before:6.1%}",
            f"{entry.after:6.1%}",
            f"{entry.diff * 100:+5.1f}pp",
            f"[{lo * 100:+.0f},{hi * 100:+.0f}]",
            f"{adjusted_p(entry):.2g}",
            Text(entry.verdict, style=VERDICT_STYLE[entry.verdict]),
        )
        keys.append(name)
    return keys
