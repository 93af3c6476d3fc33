"""A scroll view's content size set without laying its screen out again.

`virtual_size` is a reactive that lays out the whole screen when it changes, and a layout
redraws every widget on it; a view whose own size stays as it was (a new pair in a labelling
pane, the next step in the detail) only needs its scrollbar and scroll limits updated. Where a
scrollbar must appear or go, Textual still lays out, as it must.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView


def set_virtual_size(view: ScrollView, size: Size) -> None:
    if size == view.virtual_size:
        return
    if not view.container_size:  # not laid out yet: the first layout takes it
        view.virtual_size = size
        return
    view.set_reactive(ScrollView.virtual_size, size)
    view._scroll_update(size)  # the scrollbar and the scroll limits, as a layout would
