"""A finished run's model card: settings, data, validation metrics, how to load the adapter."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from core.text import visible


class RunSummaryScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,enter", "app.pop_screen", "Close")]

    def __init__(self, run_id: str, markdown: str) -> None:
        super().__init__()
        self.run_id, self.markdown = run_id, markdown

    def compose(self) -> ComposeResult:
        text = visible(self.markdown)
        if text.startswith("---"):  # the model card's YAML header is for the Hub, not for reading
            text = text.split("---", 2)[-1]
        with VerticalScroll(id="summary-box"):
            yield Markdown(text)
