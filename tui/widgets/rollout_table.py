"""A virtual table of rollouts: rows are fetched by offset, a page at a time, as they scroll
into view (an LRU of pages), so 100,000 rollouts cost what a screenful costs.

The header is the table's own first line: it stays put on vertical scroll and moves with the
rows on horizontal scroll, so the column names always sit above their columns."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from core.text import visible
from storage import browse
from storage.store import Store
from tui.widgets.badges import own_tests_note, short

PAGE = 100
PAGES_KEPT = 32
HEADER_LINES = 1  # the column names, drawn by the table itself above the rows
WIDTHS = (
    ("task", 22),
    ("policy", 18),
    ("steps", 5),
    ("score", 6),
    ("outcome", 7),
    ("flags", 40),
    ("source", 20),
)


def header_text() -> Text:
    text = Text(no_wrap=True)
    for name, width in WIDTHS:
        text.append(name.ljust(width)[:width] + " ")
    return text


HEADER = header_text()


class RolloutTable(ScrollView, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"rollout-table--header"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "move(1)", "Down", show=False),
        Binding("k,up", "move(-1)", "Up", show=False),
        Binding("pagedown", "move(20)", "Page down", show=False),
        Binding("pageup", "move(-20)", "Page up", show=False),
        Binding("g,home", "jump(0)", "Top", show=False),
        Binding("G,end", "jump(-1)", "Bottom", show=False),
        Binding("enter", "open", "Open"),
    ]
    cursor = reactive(0)

    class Opened(Message):
        def __init__(self, rollout_id: str) -> None:
            super().__init__()
            self.rollout_id = rollout_id

    def __init__(self, store: Store, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.filter = browse.Filter()
        self.sort, self.descending = "task", False
        self.total = 0
        self._pages: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()

    def reload(self) -> None:
        self._pages.clear()
        self.total = browse.count(self.store, self.filter)
        self.virtual_size = Size(sum(w + 1 for _, w in WIDTHS), self.total + HEADER_LINES)
        self.cursor = min(self.cursor, max(0, self.total - 1))
        self.refresh()

    def row(self, index: int) -> dict[str, Any] | None:
        if not 0 <= index < self.total:
            return None
        number = index // PAGE
        if number not in self._pages:
            self._pages[number] = browse.page(
                self.store, self.filter, self.sort, self.descending, number * PAGE, PAGE
            )
            while len(self._pages) > PAGES_KEPT:
                self._pages.popitem(last=False)
        self._pages.move_to_end(number)
        rows = self._pages[number]
        offset = index - number * PAGE
        return rows[offset] if offset < len(rows) else None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y < HEADER_LINES:
            return self._line(HEADER, width, self.get_component_rich_style("rollout-table--header"))
        index = int(self.scroll_offset.y) + y - HEADER_LINES
        row = self.row(index)
        if row is None:
            return Strip.blank(width, self.rich_style)  # a styleless strip crashes NO_COLOR's filter
        text = self._row_text(row)
        if index == self.cursor:
            text.stylize(Style(reverse=True) if self.has_focus else Style(bgcolor="grey23"))
        return self._line(text, width, self.rich_style)

    def _line(self, text: Text, width: int, base: Style) -> Strip:
        """`text` scrolled to the table's horizontal offset and cut or padded to `width`."""
        scroll_x = int(self.scroll_offset.x)
        segments = list(text.render(self.app.console))
        strip = Strip(segments).crop(scroll_x, scroll_x + width).extend_cell_length(width, base)
        # Every segment carries a style: NO_COLOR's filter fails on a styleless one.
        return Strip([Segment(part, style or base, control) for part, style, control in strip], width)

    @staticmethod
    def _row_text(row: dict[str, Any]) -> Text:
        label, style = {1: ("pass", "green"), 0: ("fail", "red")}.get(row["tests_passed"], ("?", "dim"))
        outcome = (label + own_tests_note(row["tests_passed"], row["tests_passed_own"], mark=True), style)
        flags = " ".join(short(f) for f in row["flags"].split())
        cells = [
            (row["task_id"], ""),
            (row["policy"], "dim"),
            (str(row["n_steps"]), ""),
            (f"{row['score']:g}", "bold"),
            outcome,
            (flags or "clean", "red" if flags else "green"),
            (f"{row['source_format']}" + (f" eval:{row['eval_id']}" if row["eval_id"] else ""), "dim"),
        ]
        text = Text(no_wrap=True)
        for (value, style), (_, width) in zip(cells, WIDTHS, strict=True):
            text.append(visible(value).ljust(width)[:width] + " ", style=style)
        return text

    def current_id(self) -> str | None:
        row = self.row(self.cursor)
        return row["id"] if row else None

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_region_cursor()
        self.refresh()

    def scroll_to_region_cursor(self) -> None:
        top, height = int(self.scroll_offset.y), max(1, self.size.height - HEADER_LINES)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def action_move(self, delta: int) -> None:
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + delta))

    def action_jump(self, where: int) -> None:
        if self.total:
            self.cursor = self.total - 1 if where < 0 else 0

    def action_open(self) -> None:
        rollout_id = self.current_id()
        if rollout_id:
            self.post_message(self.Opened(rollout_id))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
