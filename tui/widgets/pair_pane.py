"""One side of a labelling pair, drawn line by line (Textual's Line API, as toolong does): the
head (score, outcome, badges), the timeline from the divergence and the final diff.

Only the rows on screen are rendered, each once per width and search, in the pane's style and
as wide as the pane, so Textual draws them as they are; a new pair changes the pane's virtual
size without a relayout of the screen, and the lines of the last sides shown are kept (a
skipped or undone pair comes back built). `prepare` does all of that for a side not shown yet,
its top rows drawn too, off the UI thread: the labelling screen prepares the next pair while
the person reads this one, and `show(..., prepared=...)` then only swaps it in. Timeline lines
are cut to the width with an ellipsis, never wrapped; diff lines fold at the width, so nothing
of the diff is lost. The pane takes no focus: the labelling screen scrolls it, jumps it to its
diff and searches it by key.

The scrollbar is drawn as the last cell of each row, as Textual's ScrollBar draws it (same
glyphs and colours, grabbed, hovered, clicked above or below the thumb to page): a ScrollBar
widget is a second widget per side to lay out and paint on every new pair, about a fifth of
what a decision cost.

A search marks every match: text on screen highlighted, and a step whose hidden text (its
thought, arguments or whole output) matches has its number highlighted. One match at a time
is the current one, shown reversed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass

from rich.cells import cell_len, chop_cells
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Offset, Region, Size
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBarRender
from textual.strip import Strip

from core.schema import Rollout
from core.text import one_line
from tui.widgets.badges import badges, own_tests_note
from tui.widgets.diff import diff_lines
from tui.widgets.timeline import MATCH, flagged_steps, shared_line, step_haystack, step_line
from tui.widgets.virtual_size import set_virtual_size

BAR = 1  # the scrollbar's column, right of the lines
CURRENT = "bold reverse"
NUMBER = (0, 4)  # the step number's cells, marked when only the step's hidden text matches


@dataclass(slots=True)
class PaneLine:
    text: Text
    fold: bool = False  # fold at the width (the diff), else cut with an ellipsis
    step: int | None = None  # position in rollout.steps, for a timeline line


def fold_offsets(plain: str, width: int) -> list[int]:
    """Where a line folds at `width` cells (empty when it fits)."""
    if plain.isascii():
        return list(range(width, len(plain), width))
    offsets, end = [], 0
    for piece in chop_cells(plain, width)[:-1]:
        end += len(piece)
        offsets.append(end)
    return offsets


PANES_KEPT = 64  # sides whose lines are kept: a skipped pair, or one undone, comes back built
_built: OrderedDict[tuple[object, ...], tuple[list[PaneLine], int]] = OrderedDict()  # UI thread only


def build_key(side: str, rollout: Rollout, start: int, blind: bool, width: int) -> tuple[object, ...]:
    """What a side's lines depend on."""
    flags = tuple(rollout.flag_ids)
    return (side, rollout.id, len(rollout.steps), rollout.score, flags, start, blind, width)


def row_starts(lines: list[PaneLine], width: int) -> tuple[list[int], int]:
    """Each line's first row at `width`, and the rows of all of them."""
    row, starts = 0, []
    for line in lines:
        starts.append(row)
        row += len(fold_offsets(line.text.plain, width)) + 1 if line.fold else 1
    return starts, row


def line_rows(
    line: PaneLine,
    width: int,
    console: Console,
    style: Style,
    spans: list[tuple[int, int]] | None = None,
    current: bool = False,
) -> list[Strip]:
    """A line's rows as drawn: in the pane's `style`, each `width` cells wide; `spans` marked
    as matches (`current`: as the current one)."""
    text = line.text
    if spans:
        text = text.copy()
        for start, end in spans:
            text.stylize(CURRENT if current else MATCH, start, end)
    if line.fold:
        pieces = list(text.divide(fold_offsets(text.plain, width)))
    elif text.cell_len > width:  # lines are cut to the width they were built at
        text = text.copy()
        text.truncate(width, overflow="ellipsis")
        pieces = [text]
    else:
        pieces = [text]
    rows = []
    for piece in pieces:
        segments = list(Segment.apply_style(piece.render(console), style))
        cells = cell_len(piece.plain)
        if cells < width:
            segments.append(Segment(" " * (width - cells), style))
        strip = Strip(segments, max(cells, width))
        rows.append(strip.crop(0, width) if cells > width else strip)
    return rows


@dataclass(slots=True)
class Prepared:
    """A side built and its top rows drawn before it is shown (see `prepare`)."""

    key: tuple[object, ...]
    lines: list[PaneLine]
    diff_line: int
    starts: list[int]
    rows: int
    style: Style
    strips: dict[int, list[Strip]]  # line -> its rows, for the lines on the first screen


def prepare(
    side: str,
    rollout: Rollout,
    start: int,
    blind: bool,
    width: int,
    height: int,
    console: Console,
    style: Style,
) -> Prepared:
    """What `PairPane.show` would build for this side at `width`, and the rows of its first
    `height` rows. Pure (it reads the console's theme only), so it runs in a worker thread."""
    lines, diff_line = pane_lines(side, rollout, start, blind, width, console)
    starts, rows = row_starts(lines, width)
    strips: dict[int, list[Strip]] = {}
    for index, first in enumerate(starts):
        if first >= height:
            break
        strips[index] = line_rows(lines[index], width, console, style)
    key = build_key(side, rollout, start, blind, width)
    return Prepared(key, lines, diff_line, starts, rows, style, strips)


def pane_lines(
    side: str, rollout: Rollout, start: int, blind: bool, width: int, console: Console
) -> tuple[list[PaneLine], int]:
    """One side's lines at `width` (the head, the timeline from `start`, the diff) and the
    index of the diff's heading. The lines are shared (kept per side and width): never changed
    in place."""
    lines = [PaneLine(piece) for piece in head_text(side, rollout, blind).wrap(console, width)]
    if start > 0:
        lines.append(PaneLine(shared_line(start)))
    marks = {} if blind else flagged_steps(rollout)
    for position in range(start, len(rollout.steps)):
        step = rollout.steps[position]
        lines.append(PaneLine(step_line(step, marks.get(step.index, []), width), step=position))
    if not rollout.steps:
        lines.append(PaneLine(Text("(no steps)", style="dim")))
    lines.append(PaneLine(Text()))
    diff_line = len(lines)
    heading = Text(f"── final diff ({len(rollout.final_diff.splitlines())} lines) ", style="bold")
    lines.append(PaneLine(heading.append("─" * max(0, width - heading.cell_len), style="dim")))
    lines += [PaneLine(line, fold=True) for line in diff_lines(rollout.final_diff)]
    return lines, diff_line


def head_text(side: str, rollout: Rollout, blind: bool) -> Text:
    """Score, outcome, steps and exit status, then the badges (`blind`: no score, no badges)."""
    head = Text(f"{side.upper()}  ", style="bold")
    if not blind:
        head.append(f"score {rollout.score:g}  ", style="bold")
    outcome = {True: ("tests pass", "green"), False: ("tests fail", "red"), None: ("tests ?", "dim")}
    label, colour = outcome[rollout.tests_passed]
    note = own_tests_note(rollout.tests_passed, rollout.tests_passed_own)
    head.append(f"{label}{note}  ", style=colour)
    head.append(f"{len(rollout.steps)} steps  {one_line(rollout.exit_status)}", style="dim")
    if not blind:
        head.append("\n")
        head.append_text(badges(rollout.flag_ids))
    return head


class PairPane(ScrollView, can_focus=False):
    """`show` a rollout; the screen calls `page`, `toggle_diff`, `search` and `go_to_match`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.side = ""
        self.rollout: Rollout | None = None
        self.start = 0  # the first step shown (one before the divergence)
        self.blind = False
        self.hint = ""  # this side's keys, drawn on the border
        self.search_text = ""
        self.matches: list[int] = []  # line indices, top to bottom
        self.current: int | None = None  # index into `matches`, or None
        self._lines: list[PaneLine] = []
        self._starts: list[int] = []  # each line's first row
        self._diff_line = 0  # index of the diff's heading line
        self._hits: dict[int, list[tuple[int, int]]] = {}  # line -> spans to highlight
        self._haystacks: dict[int, str] = {}  # step position -> its text in lower case
        self._strips: dict[int, list[Strip]] = {}  # line -> its rendered rows, for this width
        self._width = 0
        self._prepared: Prepared | None = None  # the side as `prepare` built it, until used
        self._bar: tuple[tuple[object, ...], list[Segment]] = ((), [])  # (what it was drawn for, cells)
        self._bar_hover = False
        self._thumb = range(0)  # the thumb's rows in the bar
        self._grab: tuple[int, float] | None = None  # (screen row, scroll y) where the thumb was grabbed
        self._view: tuple[Region, Offset, int, list[Segment], Style] | None = None  # `_frame()` while drawing

    # -- content -----------------------------------------------------------------------------
    def show(
        self, side: str, rollout: Rollout, start: int, blind: bool = False, prepared: Prepared | None = None
    ) -> None:
        """`blind`: no score, no badges, no flag marks in the timeline. `prepared`: this side as
        `prepare` built it (used when it was built at the pane's width and style)."""
        self.side, self.rollout, self.start, self.blind = side, rollout, start, blind
        self.search_text, self.matches, self.current = "", [], None
        self._hits, self._haystacks = {}, {}
        self._lines, self._starts, self._strips, self._width = [], [], {}, 0
        self._prepared = prepared
        self._build()
        self.scroll_home(animate=False, immediate=True)
        self._draw_title()

    def on_resize(self, event: events.Resize) -> None:
        self._build()

    @property
    def lines_width(self) -> int:
        """The lines' width: the content's, less the scrollbar's column."""
        return self.scrollable_content_region.width - BAR

    def _build(self, refresh: bool = True) -> None:
        """The lines at the pane's width (timeline lines are cut to it); nothing before layout.
        `refresh`: draw them (not while drawing)."""
        width = self.lines_width
        if self.rollout is None or width <= 0 or width == self._width:
            return
        self._width = width
        key = build_key(self.side, self.rollout, self.start, self.blind, width)
        prepared, self._prepared = self._prepared, None
        if prepared is not None and prepared.key == key:
            _built[key] = prepared.lines, prepared.diff_line
        built = _built.get(key)
        if built is None:
            built = pane_lines(self.side, self.rollout, self.start, self.blind, width, self.app.console)
            _built[key] = built
        _built.move_to_end(key)
        while len(_built) > PANES_KEPT:
            _built.popitem(last=False)
        self._lines, self._diff_line = built
        if prepared is not None and prepared.key == key:
            self._layout(prepared.starts, prepared.rows, refresh)
            if prepared.style == self.rich_style:
                self._strips = dict(prepared.strips)
        else:
            self._layout(refresh=refresh)
        if self.search_text:
            self._find(self.search_text)

    def _layout(self, starts: list[int] | None = None, rows: int = 0, refresh: bool = True) -> None:
        if starts is None:
            starts, rows = row_starts(self._lines, self._width)
        self._starts = starts
        self._strips = {}
        set_virtual_size(self, Size(self._width, rows))
        if refresh:
            self.refresh()

    def plain(self) -> str:
        """What the pane holds, as text (for tests and search)."""
        return "\n".join(line.text.plain for line in self._lines)

    def _draw_title(self) -> None:
        title = Text(f"{self.side} · {one_line(self.rollout.id) if self.rollout else '-'}")
        if self.search_text:
            found = len(self.matches)
            where = f"{self.current + 1}/{found}" if self.current is not None else f"{found} found"
            title.append(f" · /{one_line(self.search_text[:20])}: {where}", style="bold")
        if self.hint:
            title.append(f" · {self.hint}", style="dim")
        self.border_title = title

    # -- drawing -----------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips, self._bar = {}, ((), [])  # drawn in the old colours

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.lines_width != self._width:
            # Laid out at a new width, drawn before the Resize event arrives (the first frame
            # of a screen): built now, so that frame shows the lines rather than a blank pane
            # drawn again once the event builds them.
            self._build(refresh=False)
        self._view = self._frame()  # once a frame, not once a row
        try:
            return super().render_lines(crop)
        finally:
            self._view = None

    def _frame(self) -> tuple[Region, Offset, int, list[Segment], Style]:
        """What every row drawn depends on: the content region, the scroll offset, the lines'
        height, the bar's cells and the pane's style (Textual works out each anew from the
        styles on every call: `rich_style` walks every ancestor)."""
        region, offset, style = self.scrollable_content_region, self.scroll_offset, self.rich_style
        return (
            region,
            offset,
            self.virtual_size.height,
            self._bar_cells(region.height, offset.y, style),
            style,
        )

    def render_line(self, y: int) -> Strip:
        region, (scroll_x, scroll_y), rows, bar, style = self._view or self._frame()
        width = region.width - BAR
        row = scroll_y + y
        cell = bar[y] if y < len(bar) else Segment(" " * BAR, style)
        if not self._starts or row >= rows or width != self._width:
            return Strip([Segment(" " * width, style), cell], width + BAR)
        index = bisect_right(self._starts, row) - 1
        strips = self._strips.get(index)
        if strips is None:
            strips = self._strips[index] = self._rows_of(index, style)
        strip = strips[min(row - self._starts[index], len(strips) - 1)]
        if scroll_x:
            strip = strip.crop_extend(scroll_x, scroll_x + width, style)
        return Strip([*strip, cell], width + BAR)

    def _bar_cells(self, height: int, scroll_y: float, base: Style) -> list[Segment]:
        """The scrollbar's cells, top to bottom, as Textual's ScrollBar draws them (its colours
        from this pane's styles, grabbed or hovered); blank where nothing scrolls."""
        virtual = self.virtual_size.height
        position = int(scroll_y * 8) / 8  # as ScrollBar.validate_position
        shown = self.show_vertical_scrollbar
        key = (height, virtual, position, shown, self._bar_hover, self._grab is not None)
        if key == self._bar[0]:
            return self._bar[1]
        self._thumb = range(0)
        if not shown:
            self._bar = (key, [Segment(" " * BAR, base)] * height)
            return self._bar[1]
        styles = self.styles
        if self._grab is not None:
            back, fore = styles.scrollbar_background_active, styles.scrollbar_color_active
        elif self._bar_hover:
            back, fore = styles.scrollbar_background_hover, styles.scrollbar_color_hover
        else:
            back, fore = styles.scrollbar_background, styles.scrollbar_color
        if back.a < 1:
            back = self.background_colors[0] + back
        bar = ScrollBarRender.render_bar(
            size=height,
            virtual_size=virtual,
            window_size=height if height < virtual else 0,
            position=position,
            thickness=BAR,
            back_color=back.rich_color,
            bar_color=(back + fore).rich_color,
        )
        # One styled cell a row (the line breaks have no style). The pane's style goes under the
        # bar's own, as a ScrollBar widget draws it; the bar's mouse actions are this pane's.
        drawn = [(cell.text, cell.style) for cell in bar.segments if cell.style is not None]
        grab = [y for y, (_, style) in enumerate(drawn) if style.meta.get("@mouse.down") == "grab"]
        if grab:
            self._thumb = range(grab[0], grab[-1] + 1)
        self._bar = (key, [Segment(text, base + style.clear_meta_and_links()) for text, style in drawn])
        return self._bar[1]

    def _bar_row(self, event: events.MouseEvent) -> int | None:
        """The row of the scrollbar under the pointer, or None when it is not over the bar."""
        offset = event.get_content_offset(self)
        if offset is None or offset.x < self.lines_width or not self.show_vertical_scrollbar:
            return None
        return offset.y

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._grab is not None:
            screen_y, scroll_y = self._grab
            window = self.scrollable_content_region.height
            if window:  # as ScrollBar drags: the pointer's rows, scaled from the bar to the lines
                moved = (event.screen_y - screen_y) * self.virtual_size.height / window
                self.scroll_to(y=scroll_y + moved, animate=False)
            return
        self._set_bar_hover(self._bar_row(event) is not None)

    def on_leave(self, event: events.Leave) -> None:
        self._set_bar_hover(False)

    def _set_bar_hover(self, hover: bool) -> None:
        if hover != self._bar_hover:
            self._bar_hover = hover
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """On the bar: grab the thumb, or page up or down as a click above or below it does."""
        row = self._bar_row(event)
        if row is None:
            return
        event.stop()
        self._bar_cells(self.scrollable_content_region.height, self.scroll_offset.y, self.rich_style)
        thumb = self._thumb
        if row in thumb:
            self._grab = (event.screen_y, self.scroll_offset.y)
            self.capture_mouse()
            self.refresh()
        elif thumb and row < thumb.start:
            self.scroll_page_up(animate=False)
        else:
            self.scroll_page_down(animate=False)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._grab is not None:
            self.release_mouse()

    def on_mouse_release(self, event: events.MouseRelease) -> None:
        self._grab = None
        self.refresh()

    def _rows_of(self, index: int, style: Style) -> list[Strip]:
        """The line's rows as drawn: in the pane's `style`, each as wide as the pane."""
        current = self.current is not None and self.matches[self.current] == index
        spans = self._hits.get(index)
        return line_rows(self._lines[index], self._width, self.app.console, style, spans, current)

    # -- moving ------------------------------------------------------------------------------
    def page(self, direction: int) -> None:
        """Half the pane's height down (1) or up (-1)."""
        self.scroll_relative(y=direction * max(1, self.scrollable_content_region.height // 2), animate=False)

    @property
    def diff_row(self) -> int:
        return self._starts[self._diff_line] if self._starts else 0

    def toggle_diff(self) -> None:
        """To the diff's heading, or back to the top when the diff is shown already."""
        target = min(self.diff_row, self.max_scroll_y)
        if target > 0 and self.scroll_offset.y >= target:
            self.scroll_home(animate=False)
        else:
            self.scroll_to(y=self.diff_row, animate=False)

    def step_to_open(self) -> int | None:
        """The step a full view should open at: the current match's, else the first step on
        screen, else the first shown (the divergence)."""
        if self.current is not None and self._lines[self.matches[self.current]].step is not None:
            return self._lines[self.matches[self.current]].step
        top = self.scroll_offset.y
        bottom = top + self.scrollable_content_region.height
        for index, line in enumerate(self._lines):
            if line.step is not None and top <= self._starts[index] < bottom:
                return line.step
        return self.start if self.rollout is not None and self.rollout.steps else None

    # -- searching ---------------------------------------------------------------------------
    def search(self, text: str) -> int:
        """Mark every match of `text` (ignoring case; "" clears); the number of lines matched."""
        self.search_text, self.current = text, None
        self._find(text)
        self._draw_title()
        return len(self.matches)

    def _find(self, text: str) -> None:
        needle = text.lower()
        hits: dict[int, list[tuple[int, int]]] = {}
        if needle and self.rollout is not None:
            for index, line in enumerate(self._lines):
                plain = line.text.plain.lower()
                spans, at = [], plain.find(needle)
                while at >= 0:
                    spans.append((at, at + len(needle)))
                    at = plain.find(needle, at + len(needle))
                if not spans and line.step is not None and needle in self._haystack(line.step):
                    spans = [NUMBER]
                if spans:
                    hits[index] = spans
        self._hits, self.matches = hits, sorted(hits)
        self._strips = {}
        self.refresh()

    def _haystack(self, position: int) -> str:
        if position not in self._haystacks and self.rollout is not None:
            self._haystacks[position] = step_haystack(self.rollout.steps[position])
        return self._haystacks.get(position, "")

    def go_to_match(self, number: int | None, current: bool = True) -> None:
        """Scroll to match `number` (an index into `matches`), and make it the current one
        unless `current` is false; None: no match of this side is current."""
        valid = number is not None and 0 <= number < len(self.matches)
        self.current = number if valid and current else None
        if valid and number is not None:
            row = self._starts[self.matches[number]]
            self.scroll_to(y=max(0, row - 1), animate=False)
        self._strips = {}
        self.refresh()
        self._draw_title()
