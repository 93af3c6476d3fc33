"""One step in full (thought, call, observation) and a rollout's diff, as Rich renderables.

Tool output can be megabytes, so everything is folded *before* a renderable is built:
`fold` finds the cut with `str.find`, and `strip_ansi` (a per-character pass) runs only on
what will be shown. Pygments highlighting costs about 0.2 ms a line, so text longer than
`HIGHLIGHT_LINES` is shown plain (diffs get a cheap per-line colouring instead).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from copy import copy
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound
from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from core.actions import tool_name
from core.schema import ActionKind, Step
from core.text import strip_ansi, visible
from tui.widgets.diff import diff_text
from tui.widgets.timeline import KIND_LETTER, MATCH
from tui.widgets.virtual_size import set_virtual_size

FOLD_LINES = 200  # lines shown while folded
FOLD_CHARS = 40_000  # and at most this many characters (one 10 MB line is one "line")
CAP_LINES = 20_000  # lines shown unfolded
CAP_CHARS = 1_000_000
HIGHLIGHT_LINES = 2_000  # above this, plain text: Syntax on 20,000 lines takes seconds
MARGIN_ROWS = 4  # rendered below the view, beyond what is seen
THEME = "ansi_dark"  # the terminal's own colours: readable in 256 colours and with NO_COLOR
TRACEBACK = "Traceback (most recent call last)"
EDIT_KEYS = (("old", "new"), ("old_str", "new_str"))


@dataclass(frozen=True, slots=True)
class Folded:
    """The part of a text that is shown (display-safe) and how much was left out."""

    text: str
    hidden_lines: int
    hidden_chars: int
    unfolded: bool

    def note(self) -> Text | None:
        """The line under the text saying what is hidden, or None when nothing is."""
        if not self.hidden_chars:
            return None
        more = (
            f"{self.hidden_lines:,} more lines"
            if self.hidden_lines
            else f"{self.hidden_chars:,} more characters"
        )
        if self.unfolded:
            cap = f"display cap: {CAP_LINES:,} lines or {CAP_CHARS:,} characters"
            return Text(f"… {more} not shown ({cap})", style="italic yellow")
        return Text(f"… {more} — press f to unfold", style="italic yellow")


def line_count(text: str) -> int:
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def cut_at(content: str, max_lines: int, max_chars: int) -> int:
    """Where to cut `content` to keep its first `max_lines` lines and at most `max_chars`."""
    end = -1
    for _ in range(max_lines):
        end = content.find("\n", end + 1, max_chars)
        if end < 0:
            return min(len(content), max_chars)
    return len(content) if end == len(content) - 1 else end  # a final newline hides nothing


def fold(content: str, unfolded: bool = False) -> Folded:
    """Cut `content` to the first FOLD_LINES lines (CAP_LINES when unfolded), then make it safe."""
    max_lines, max_chars = (CAP_LINES, CAP_CHARS) if unfolded else (FOLD_LINES, FOLD_CHARS)
    cut = cut_at(content, max_lines, max_chars)
    head = content[:cut]
    hidden_chars = len(content) - cut
    hidden_lines = max(0, line_count(content) - line_count(head)) if hidden_chars else 0
    return Folded(strip_ansi(head), hidden_lines, hidden_chars, unfolded)


def split_arguments(arguments: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The arguments as pretty JSON ("" when none are left) and the edit texts (old/new) to show
    as code instead."""
    rest = dict(arguments)
    keys = next(((o, n) for o, n in EDIT_KEYS if o in rest and n in rest), ())
    texts = {key: str(rest.pop(key)) for key in keys}
    dumped = json.dumps(rest, indent=2, ensure_ascii=False, default=str) if rest else ""
    return dumped, texts


def foldable(step: Step) -> bool:
    """Whether `f` changes anything for this step (some text in it is over the fold)."""
    texts = [step.thought, step.observation.content if step.observation else ""]
    if step.tool_call is not None:
        dumped, edits = split_arguments(step.tool_call.arguments)
        texts += [dumped, *edits.values(), step.tool_call.raw or ""]
    return any(cut_at(t, FOLD_LINES, FOLD_CHARS) < len(t) for t in texts)


@lru_cache(maxsize=256)
def path_lexer(path: str) -> str | None:
    """The lexer a file's name calls for (Pygments goes through every lexer's patterns: once a
    path)."""
    lexer = Syntax.guess_lexer(path) if path else "default"
    return None if lexer in ("default", "text") else lexer


def observation_lexer(step: Step, head: str) -> str | None:
    """A lexer from the path read (read_file, or a shell read of one file), "python" for test
    output and tracebacks, else None (plain text)."""
    call, action = step.tool_call, step.action
    path = ""
    if call is not None and tool_name(call.name) == "read_file":
        path = str(call.arguments.get("path") or "")
    elif action is not None and action.kind == ActionKind.READ and len(action.paths) == 1:
        path = action.paths[0]
    if lexer := path_lexer(path):
        return lexer
    if (action is not None and action.kind == ActionKind.TEST) or TRACEBACK in head:
        return "python"
    return None


@lru_cache(maxsize=32)
def lexer_named(name: str) -> Lexer | str:
    """One lexer per name, as Syntax would make it: looking one up costs about 2 ms, a step."""
    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=True, tabsize=4)
    except ClassNotFound:
        return name  # Syntax shows it plain


def code(folded: Folded, lexer: str | None) -> RenderableType:
    """Folded text, highlighted when short enough, with its fold note under it."""
    body: RenderableType
    if lexer and line_count(folded.text) <= HIGHLIGHT_LINES:
        body = Syntax(
            folded.text, lexer_named(lexer), theme=THEME, word_wrap=True, background_color="default"
        )
    else:
        body = Text(folded.text)
    note = folded.note()
    return Group(body, note) if note else body


def heading(title: str, *extra: tuple[str, str]) -> Text:
    text = Text(title, style="bold underline")
    for part, style in extra:
        text.append("  ")
        text.append(part, style=style)
    return text


def step_title(step: Step, total: int, marks: list[str]) -> Text:
    kind = step.action.kind if step.action else ActionKind.OTHER
    letter, colour = KIND_LETTER.get(kind, ("?", "red"))
    title = Text(f"Step {step.index + 1}/{total}  ", style="bold")
    title.append(f"{letter} {kind}", style=f"bold {colour}")
    if step.action and len(step.action.kinds) > 1:
        title.append(f" ({', '.join(step.action.kinds)})", style="dim")
    if step.action and step.action.paths:
        title.append("  " + strip_ansi(", ".join(step.action.paths))[:200], style="dim")
    if step.duration_s is not None:
        title.append(f"  {step.duration_s:.1f}s", style="dim")
    if marks:
        title.append("  ⚑ " + visible(", ".join(marks)), style="bold red")
    return title


def call_parts(step: Step, unfolded: bool) -> list[RenderableType]:
    call = step.tool_call
    if call is None:
        reason = strip_ansi(step.malformed or "the turn had no parseable tool call")
        parts: list[RenderableType] = [heading("Call", ("(none)", "bold red")), Text(reason, style="red")]
    else:
        parts = [heading("Call", (strip_ansi(call.name), "bold"))]
        dumped, texts = split_arguments(call.arguments)
        if dumped:
            parts.append(code(fold(dumped, unfolded), "json"))
        lexer = path_lexer(str(call.arguments.get("path") or ""))
        for key, value in texts.items():
            parts.append(Text(f"{key}:", style="bold"))
            parts.append(code(fold(str(value), unfolded), lexer))
        if call.raw:
            parts.append(Text("raw:", style="bold"))
            parts.append(code(fold(call.raw, unfolded), None))
        if step.malformed:
            parts.append(Text(strip_ansi(step.malformed), style="red"))
    return parts


def observation_parts(step: Step, unfolded: bool) -> list[RenderableType]:
    obs = step.observation
    if obs is None:
        return [heading("Observation", ("(none)", "dim"))]
    extra: list[tuple[str, str]] = []
    if obs.exit_code is not None:
        extra.append((f"exit {obs.exit_code}", "green" if obs.exit_code == 0 else "bold red"))
    if obs.error:
        extra.append(("error", "bold red"))
    if obs.truncated_bytes:
        extra.append((f"{obs.truncated_bytes:,} bytes cut on import", "yellow"))
    if not obs.content:
        return [heading("Observation", *extra), Text("(empty)", style="dim")]
    folded = fold(obs.content, unfolded)
    body = code(folded, observation_lexer(step, folded.text[:20_000]))
    return [heading("Observation", *extra), body]


def step_renderable(step: Step, total: int, marks: list[str], unfolded: bool = False) -> Group:
    """The whole step, folded unless `unfolded`."""
    parts: list[RenderableType] = [step_title(step, total, marks), Text()]
    if step.thought:
        parts += [heading("Thought"), code(fold(step.thought, unfolded), None), Text()]
    parts += call_parts(step, unfolded)
    parts.append(Text())
    parts += observation_parts(step, unfolded)
    if unfolded:
        parts.append(Text("(unfolded — press f to fold)", style="dim italic"))
    return Group(*parts)


def diff_renderable(diff: str) -> RenderableType:
    """The final diff, highlighted; a long one coloured line by line; capped like an unfolded step."""
    if not diff.strip():
        return Text("(no diff)", style="dim")
    folded = fold(diff, unfolded=True)
    if line_count(folded.text) <= HIGHLIGHT_LINES:
        return code(folded, "diff")
    text = diff_text(folded.text, max_lines=len(folded.text.splitlines()))
    note = folded.note()
    return Group(text, note) if note else text


def mark(strip: Strip, needle: str, style: Style) -> Strip:
    """`strip` with every occurrence of `needle` (lower case) restyled on top."""
    plain = strip.text
    lower = plain.lower()
    at = lower.find(needle)
    if at < 0:
        return strip
    cells = (lambda i: i) if plain.isascii() else (lambda i: cell_len(plain[:i]))
    segments: list[Segment] = []
    cursor = 0
    while at >= 0:
        start, end = cells(at), cells(at + len(needle))
        segments += list(strip.crop(cursor, start))
        segments += list(Segment.apply_style(list(strip.crop(start, end)), post_style=style))
        cursor = end
        at = lower.find(needle, at + len(needle))
    segments += list(strip.crop(cursor, strip.cell_length))
    return Strip(segments, strip.cell_length)


@dataclass(slots=True)
class Block:
    """One part of what a StepView shows. A long text or code (`source` is its plain text) may
    be rendered in part, its first lines, until a row of the rest is drawn (`partial`)."""

    renderable: RenderableType
    source: str | None = None
    partial: bool = False


def parts_of(renderable: RenderableType) -> list[RenderableType]:
    """A Group's renderables, nested groups flattened (each renders from a new line)."""
    if isinstance(renderable, Group):
        return [part for child in renderable.renderables for part in parts_of(child)]
    return [renderable]


def block_of(part: RenderableType) -> Block:
    if isinstance(part, Syntax):
        return Block(part, part.code)
    if isinstance(part, Text) and "\n" in part.plain:
        return Block(part, part.plain)
    return Block(part)


def head_of(block: Block, lines: int) -> tuple[RenderableType, str] | None:
    """The block's first `lines` lines as a renderable and the plain text after them, or None
    when it has no more lines than that."""
    source = block.source or ""
    cut = cut_at(source, lines, len(source)) if lines > 0 else -1
    if block.source is None or cut >= len(source) - 1:
        return None
    part = block.renderable
    if isinstance(part, Syntax):
        head = copy(part)
        head.code = source[: max(0, cut)]
        return (head if lines > 0 else Text()), source[cut + 1 :].expandtabs(part.tab_size)
    assert isinstance(part, Text)
    return (part.divide([cut])[0] if lines > 0 else Text()), source[cut + 1 :]


def estimated_rows(text: str, width: int) -> int:
    """The rows `text` takes folded at `width` (word wrapping may take a few more)."""
    rows = 0
    for line in text.split("\n"):
        cells = len(line) if line.isascii() else cell_len(line)
        rows += max(1, -(-cells // width))
    return rows


class StepView(ScrollView):
    """A scrolling view of one renderable, rendered to lines per width (the Line API, as in
    toolong): scrolling and focus changes never render 20,000 lines again.

    Only what can be seen is rendered: a long text or highlighted code renders the lines that
    reach the bottom of the view, the rows of the rest are estimated from its plain text, and it
    is rendered whole the first time one of them is drawn. Pygments costs about 0.1 ms a line,
    and a step is read from its top far more often than scrolled through.

    `renderable` is what it shows now (tests read it). `highlight` marks a search's matches
    (within a line) in whatever it shows, now and after; `match_rows` are the lines holding one
    (a search renders everything, to find them).
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.renderable: RenderableType = Text("")
        self.match_rows: list[int] = []
        self._strips: list[Strip | None] = []  # a row not rendered yet is None
        self._blocks: list[Block] = []
        self._starts: list[int] = []  # each block's first row
        self._width = 0
        self._needle = ""
        self._style: Style | None = None  # the view's style while a frame is drawn

    def show(self, renderable: RenderableType, keep_scroll: bool = False) -> None:
        self.renderable = renderable
        self._width = 0
        if not keep_scroll:
            self.scroll_home(animate=False, immediate=True)
        self._render_strips()

    def highlight(self, needle: str) -> None:
        """Mark `needle` (any case; "" marks nothing)."""
        if needle.lower() != self._needle:
            self._needle = needle.lower()
            self._width = 0
            self._render_strips()

    def scroll_to_match(self) -> None:
        if self.match_rows:
            self.scroll_to(y=max(0, self.match_rows[0] - 2), animate=False)

    def on_resize(self) -> None:
        self._render_strips()

    def _render_strips(self) -> None:
        region = self.scrollable_content_region
        width = region.width
        if width <= 0 or width == self._width:
            return
        self._width = width
        bottom = -1 if self._needle else self.scroll_offset.y + region.height + MARGIN_ROWS
        self._blocks = [block_of(part) for part in parts_of(self.renderable)]
        self._strips, self._starts = [], []
        for block in self._blocks:
            self._starts.append(len(self._strips))
            self._strips += self._render_block(block, bottom - len(self._strips) if bottom >= 0 else None)
        self.match_rows = []
        if self._needle:
            style = Style.parse(MATCH)
            for row, strip in enumerate(self._strips):
                if strip is not None and self._needle in strip.text.lower():
                    self.match_rows.append(row)
                    self._strips[row] = mark(strip, self._needle, style)
        set_virtual_size(self, Size(width, len(self._strips)))
        self.refresh()

    def _render_block(self, block: Block, lines: int | None = None) -> list[Strip | None]:
        """The block's rows: all of them rendered, or (`lines`) its first lines rendered and the
        rest to come."""
        width = self._width
        head = None if lines is None else head_of(block, lines)
        block.partial = head is not None
        shown = block.renderable if head is None else head[0]
        rows: list[Strip | None] = []
        if head is None or lines:
            options = self.app.console_options.update(highlight=False, width=width, height=None)
            segments = self.app.console.render(shown, options)
            lines_ = Segment.split_and_crop_lines(segments, width, include_new_lines=False, pad=True)
            rows += [Strip(line, width) for line in lines_]
        if head is not None:
            rows += [None] * estimated_rows(head[1], width)
        return rows

    def _render_rest(self, row: int) -> None:
        """Render whole the block holding `row` (a row so far only estimated)."""
        index = bisect_right(self._starts, row) - 1
        start = self._starts[index]
        end = self._starts[index + 1] if index + 1 < len(self._starts) else len(self._strips)
        rows = self._render_block(self._blocks[index])
        self._strips[start:end] = rows
        shift = len(rows) - (end - start)
        self._starts[index + 1 :] = [s + shift for s in self._starts[index + 1 :]]
        if shift:
            set_virtual_size(self, Size(self._width, len(self._strips)))

    def render_lines(self, crop: Region) -> list[Strip]:
        self._style = self.rich_style  # once a frame: it is worked out from every ancestor
        try:
            return super().render_lines(crop)
        finally:
            self._style = None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        style = self._style or self.rich_style
        index = scroll_y + y
        strip = self._strips[index] if index < len(self._strips) else None
        if strip is None and index < len(self._strips):
            self._render_rest(index)
            strip = self._strips[index] if index < len(self._strips) else None
        if strip is None:
            return Strip.blank(width, style)
        return strip.apply_style(style).crop_extend(scroll_x, scroll_x + width, style)
