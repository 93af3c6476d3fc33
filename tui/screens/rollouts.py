"""Every rollout in one virtual table: filter as you type, sort by any column, flag counts."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, Static

from core.text import visible
from storage import browse
from storage.store import Store
from tui.widgets.badges import short
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.rollout_table import WIDTHS, RolloutTable

SORT_ORDER = [name for name, _ in WIDTHS]


class RolloutsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse", "Reverse", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def compose(self) -> ComposeResult:
        yield Static(id="rollouts-title")
        yield Input(placeholder="filter: task:NAME flag:loop outcome:fail policy:NAME words…", id="filter")
        yield RolloutTable(self.store, id="rollout-table")
        yield Static(id="flag-counts")
        yield KeysFooter()

    @property
    def table(self) -> RolloutTable:
        return self.query_one(RolloutTable)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.refresh_data()
        self.table.focus()

    def on_screen_resume(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        self.table.reload()
        counts = browse.flag_counts(self.store, self.table.filter)
        total = self.table.total
        line = Text(f"{total} rollouts", style="bold")
        line.append(f"  sorted by {self.table.sort}{' ↓' if self.table.descending else ''}", style="dim")
        if self.table.filter.text:
            line.append(f"  filter: {visible(self.table.filter.text)}", style="cyan")
            for word in self.table.filter.unknown_flags():
                line.append(f"  flag:{visible(word)} names no check (? lists the badges)", style="bold red")
        self.query_one("#rollouts-title", Static).update(line)
        flags = Text("flags: ", style="bold")
        for check, n in counts.items():
            flags.append(f"{short(check)} {n} ({n / total:.0%})  " if total else "")
        if not counts:
            flags.append("none", style="dim")
        self.query_one("#flag-counts", Static).update(flags)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.table.filter = browse.Filter(event.value)
        self.table.cursor = 0
        self.refresh_data()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value or box.display:
            box.value = ""
            box.display = False
            self.table.focus()
        else:
            self.app.pop_screen() if len(self.app.screen_stack) > 2 else None

    def action_sort(self) -> None:
        current = SORT_ORDER.index(self.table.sort) if self.table.sort in SORT_ORDER else 0
        self.table.sort = SORT_ORDER[(current + 1) % len(SORT_ORDER)]
        self.refresh_data()

    def action_reverse(self) -> None:
        self.table.descending = not self.table.descending
        self.refresh_data()

    def on_rollout_table_opened(self, event: RolloutTable.Opened) -> None:
        from tui.screens.rollout_detail import open_rollout

        open_rollout(self.app, self.store, event.rollout_id)
