"""One failure mode of one evaluation: its rollouts before and after, side by side by seed.

Both sides ran the same tasks with the same seeds, so a row is one draw seen twice: the base
model's rollout and the tuned model's. Enter opens the rollout under the cursor.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Static

from core.evaluate.result import RolloutSummary
from storage import evals
from storage.store import Store
from tui.widgets.badges import own_tests_note
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.plain import markup_safe, plain


def cell(summary: RolloutSummary | None, mode: str) -> Text:
    if summary is None:
        return Text("—", style="dim")
    flagged = mode in summary.flags or (mode == "overall" and bool(summary.flags))
    outcome = "pass" if summary.tests_passed else "fail"
    outcome += own_tests_note(summary.tests_passed, summary.tests_passed_own, mark=True)
    text = Text("● " if flagged else "  ", style="red" if flagged else "")
    text.append(f"{outcome} · {summary.n_steps} steps · {len(summary.flags)} flags")
    return text


class EvalDrillScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, store: Store, eval_id: str, mode: str) -> None:
        super().__init__()
        self.store, self.eval_id, self.mode = store, eval_id, mode
        self.cells: list[tuple[RolloutSummary | None, RolloutSummary | None]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="drill-title")
        yield DataTable(id="drill-table", cursor_type="cell", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        before = {(s.task_id, s.seed): s for s in evals.summaries(self.store, self.eval_id, "before")}
        after = {(s.task_id, s.seed): s for s in evals.summaries(self.store, self.eval_id, "after")}

        def has(s: RolloutSummary | None) -> bool:
            return s is not None and (self.mode in s.flags or (self.mode == "overall" and bool(s.flags)))

        keys = sorted(k for k in set(before) | set(after) if has(before.get(k)) or has(after.get(k)))
        count_before = sum(has(s) for s in before.values())
        count_after = sum(has(s) for s in after.values())
        self.query_one("#drill-title", Static).update(
            f"[b]{markup_safe(self.mode)}[/b] in {markup_safe(self.eval_id)}: "
            f"{count_before} of {len(before)} rollouts before, "
            f"{count_after} of {len(after)} after (● has it) · enter opens the rollout under the cursor"
        )
        table = self.query_one("#drill-table", DataTable)
        table.add_columns("task", "seed", "before (base)", "after (tuned)")
        for key in keys:
            b, a = before.get(key), after.get(key)
            self.cells.append((b, a))
            table.add_row(plain(key[0]), str(key[1])[-6:], cell(b, self.mode), cell(a, self.mode))
        if keys:
            table.move_cursor(row=0, column=2)
        table.focus()

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        row, column = event.coordinate.row, event.coordinate.column
        if row >= len(self.cells):
            return
        before, after = self.cells[row]
        chosen = after if column >= 3 else before
        if chosen is not None:
            from tui.screens.rollout_detail import open_rollout

            open_rollout(self.app, self.store, chosen.id)
