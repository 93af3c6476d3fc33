"""Two evaluations' tuned models against each other: the same table, first run as "before"."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from core.evaluate.result import EvalPairComparison
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.modes_table import fill_modes
from tui.widgets.plain import markup_safe


class EvalCompareScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, result: EvalPairComparison) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        first, second = self.result.eval_ids
        warnings = "".join(f"\n[yellow]• {markup_safe(w)}[/]" for w in self.result.warnings[:4])
        yield Static(
            f"[b]{markup_safe(first)}[/b] (before) vs [b]{markup_safe(second)}[/b] (after): "
            "the tuned side of each, "
            f"{self.result.n.before} and {self.result.n.after} rollouts{warnings}",
            id="compare-title",
        )
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        fill_modes(self.query_one("#compare-table", DataTable), self.result)
