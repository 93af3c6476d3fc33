"""`?`: the keys that apply on the screen below (remaps included), from the live bindings."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "app.pop_screen", "Close"),
    ]

    def __init__(self, title: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text, self.keys = title, keys

    def compose(self) -> ComposeResult:
        table = Table("key", "action", title=f"Keys — {self.title_text}", box=None, title_justify="left")
        for key, description in self.keys:
            table.add_row(key, description)
        with VerticalScroll(id="help-box"):
            yield Static(table)
            yield Static(legend())
            yield Static(
                "\nLabelling keys are remapped in agentpref.toml under [keys] (see the README).\n"
                "ctrl+p opens the command palette, which lists every action. escape closes this.",
                classes="dim",
                markup=False,  # "[keys]" is text, not a tag
            )


def legend() -> Table:
    """What the badges and step letters stand for; `flag:` filters take either form."""
    from core.checks.badges import BADGES
    from tui.widgets.timeline import KIND_LETTER

    table = Table("badge", "check (filter with flag:BADGE or part of the id)", box=None, title_justify="left")
    table.title = "\nBadges and step letters"
    for check, badge in BADGES.items():
        table.add_row(badge, check)
    letters = "  ".join(f"{letter} {kind.value}" for kind, (letter, _) in KIND_LETTER.items())
    table.add_row("", "")
    table.add_row("steps", letters + "  ! no valid tool call")
    return table
