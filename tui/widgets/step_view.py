"""One step in full (thought, call, observation) and a rollout's diff, as Rich renderables.

Tool output can be megabytes, so everything is folded *before* a renderable is built:
`fold` finds the cut with `str.find`, and `strip_ansi` (a per-character pass) runs only on
what will be shown. Pygments highlighting costs about 0.2 ms a line, so text longer than
`HIGHLIGHT_LINES` is shown plain (diffs get a cheap per-line colouring instead).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.syntax import Syntax
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from core.actions import tool_name
from core.schema import ActionKind, Step
from core.text import strip_ansi, visible
from tui.widgets.diff import diff_text
from tui.widgets.timeline import KIND_LETTER

FOLD_LINES = 200  # lines shown while folded
FOLD_CHARS = 40_000  # and at most this many characters (one 10 MB line is one "line")
CAP_LINES = 20_000  # lines shown unfolded
CAP_CHARS = 1_000_000
HIGHLIGHT_LINES = 2_000  # above this, plain text: Syntax on 20,000 lines takes seconds
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


def path_lexer(path: str) -> str | None:
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


def code(folded: Folded, lexer: str | None) -> RenderableType:
    """Folded text, highlighted when short enough, with its fold note under it."""
    body: RenderableType
    if lexer and line_count(folded.text) <= HIGHLIGHT_LINES:
        body = Syntax(folded.text, lexer, theme=THEME, word_wrap=True, background_color="default")
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


class StepView(ScrollView):
    """A scrolling view of one renderable, rendered to lines once per width (the Line API, as in
    toolong): scrolling and focus changes never render 20,000 lines again.

    `renderable` is what it shows now (tests read it).
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.renderable: RenderableType = Text("")
        self._strips: list[Strip] = []
        self._width = 0

    def show(self, renderable: RenderableType, keep_scroll: bool = False) -> None:
        self.renderable = renderable
        self._width = 0
        self._render_strips()
        if not keep_scroll:
            self.scroll_home(animate=False)

    def on_resize(self) -> None:
        self._render_strips()

    def _render_strips(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or width == self._width:
            return
        self._width = width
        console = self.app.console
        options = self.app.console_options.update(highlight=False, width=width, height=None)
        segments = console.render(self.renderable, options.update_width(width))
        lines = Segment.split_and_crop_lines(segments, width, include_new_lines=False, pad=True)
        self._strips = [Strip(line, width) for line in lines]
        self.virtual_size = Size(width, len(self._strips))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        style = self.rich_style
        index = scroll_y + y
        if index >= len(self._strips):
            return Strip.blank(width, style)
        return self._strips[index].apply_style(style).crop_extend(scroll_x, scroll_x + width, style)
