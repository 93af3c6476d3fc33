"""The one-line search input behind `/`: hidden until opened, and hidden again once submitted
or cancelled, giving focus back to what held it before (on labelling: nothing), so the
screen's keys work as before."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input


class SearchBar(Input):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel search", show=False)]

    class Done(Message):
        """The search to run (`text`; "" clears it), or None when cancelled."""

        def __init__(self, text: str | None) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="search (enter: find, escape: cancel)", id=id, compact=True)
        self.display = False
        self._focused_before: Widget | None = None

    def open(self, text: str) -> None:
        self._focused_before = self.screen.focused
        self.value = text
        self.display = True
        self.focus()

    def _close(self, text: str | None) -> None:
        self.display = False
        self.screen.set_focus(self._focused_before)
        self._focused_before = None
        self.post_message(self.Done(text))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close(event.value.strip())

    def action_cancel(self) -> None:
        self._close(None)
