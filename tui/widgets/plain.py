"""Data into widgets: as `Text` (never read as markup) or escaped into markup, always `visible`.

Textual reads a `str` given to `Static.update`, a `DataTable` cell or a notification as
markup, so a task id like "[@click=app.quit]x[/]" would become a click action and one with an
OSC sequence would drive the terminal. Every string from data enters a widget through one of
these two, or through `core.text.visible` where it is appended to a `Text` already.
"""

from __future__ import annotations

from rich.text import Text
from textual.markup import escape

from core.text import visible


def plain(value: object, style: str = "") -> Text:
    """`value` as text to show: controls made visible, brackets kept as they are."""
    return Text(visible(str(value)), style=style)


def markup_safe(value: object) -> str:
    """`value` to put inside a markup string: controls made visible, markup escaped."""
    return escape(visible(str(value)))
