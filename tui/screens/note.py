"""Tags and a note for the current pair's decision (applied when the decision key is pressed)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from core.text import visible


class NoteScreen(ModalScreen[tuple[list[str], str] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, tags: list[str], note: str) -> None:
        super().__init__()
        self.tags, self.note = tags, note

    def compose(self) -> ComposeResult:
        with Vertical(id="note-box"):
            yield Label("Reason tags (numbers or words, space-separated):")
            yield Input(visible(" ".join(self.tags)), id="tags")
            yield Label("Note:")
            yield Input(visible(self.note), id="note")
            yield Label("enter: keep · escape: cancel", classes="dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "tags":
            self.query_one("#note", Input).focus()
            return
        tags = self.query_one("#tags", Input).value.split()
        self.dismiss((tags, self.query_one("#note", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)
