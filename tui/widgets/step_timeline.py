"""The rollout detail's timeline: one OptionList line per step (rollouts have at most a few
hundred steps), built at the widget's width so the summaries use the room there is, with the
steps a search matched marked on their number."""

from __future__ import annotations

from collections import OrderedDict

from rich.text import Text
from textual import events
from textual.reactive import reactive
from textual.widgets import OptionList

from core.schema import Rollout, Step
from core.text import visible
from tui.widgets.timeline import MATCH, step_line

PREVIEW_CHARS = 4_000  # of an observation or argument, enough for a timeline line


def safe(value: object, width: int = 200) -> str:
    """A field of the rollout (an id, a path, a flag's message), cut and made `visible`."""
    return visible(str(value)[:width])


def preview(step: Step) -> Step:
    """The step cut to what a timeline line shows: `step_line` would otherwise pass a 10 MB
    observation through `strip_ansi` whole, and prints call arguments unstripped."""
    update: dict[str, object] = {}
    if step.observation is not None and len(step.observation.content) > PREVIEW_CHARS:
        content = step.observation.content[:PREVIEW_CHARS]
        update["observation"] = step.observation.model_copy(update={"content": content})
    if step.tool_call is not None:
        arguments = {
            k: safe(v, PREVIEW_CHARS) if isinstance(v, str) else v
            for k, v in step.tool_call.arguments.items()
        }
        update["tool_call"] = step.tool_call.model_copy(
            update={"name": safe(step.tool_call.name), "arguments": arguments}
        )
    if len(step.thought) > PREVIEW_CHARS:
        update["thought"] = step.thought[:PREVIEW_CHARS]
    return step.model_copy(update=update) if update else step


class StepTimeline(OptionList):
    """One line per step, built at the widget's width so the summaries use the room there is:
    once laid out (not at a guessed width first), and kept per rollout and width (LINES_KEPT),
    so a rollout opened again costs no line. A line is never wrapped (`step_line` cuts it), so
    step `i` is the list's line `i`.

    Moving the highlight redraws the line it left and the line it reached: OptionList repaints
    every line on screen, each looking its style up anew, about a third of a step moved.
    """

    highlighted: reactive[int | None] = reactive(None, repaint=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rollout: Rollout | None = None
        self.found: set[int] = set()  # positions of the steps a search matched, marked
        self._marks: dict[int, list[str]] = {}
        self._width = 0
        self._wanted: int | None = None  # the step to highlight once the lines are built
        self._pending = False  # the lines shown are not the rollout's yet

    def show(self, rollout: Rollout, marks: dict[int, list[str]]) -> None:
        """`marks`: the checks flagging each step index (none, in blind mode)."""
        self.rollout, self._marks, self.found = rollout, marks, set()
        self._wanted = 0 if rollout.steps else None
        self._pending, self._width = True, 0
        self._rebuild()

    def clear(self) -> None:
        self.rollout, self.found, self._wanted, self._pending, self._width = None, set(), None, False, 0
        self.clear_options()

    def move_to(self, position: int) -> None:
        """Highlight the step at `position` (now, or once the lines are built)."""
        if self._pending:
            self._wanted = position
        else:
            self.highlighted = position

    def mark_found(self, positions: set[int]) -> None:
        if positions != self.found:
            self.found = positions
            self._width = 0
            self._rebuild()

    def _watch_highlighted(self, old: int | None, new: int | None) -> None:
        """Beside OptionList's own watcher (which scrolls and reports the step)."""
        for line in (old, new):
            if line is not None:
                self.refresh_line(line)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._rebuild()

    def _rebuild(self) -> None:
        if self.rollout is None or not self.size.width:  # not laid out yet: built on resize
            return
        self._width = self.size.width
        width = max(40, self.scrollable_content_region.width or 100)
        prompts = timeline_lines(self.rollout, self._marks, width)
        if self.found:
            prompts = [line.copy() if p in self.found else line for p, line in enumerate(prompts)]
            for position in self.found:
                prompts[position].stylize(MATCH, 0, 4)  # the step number
        highlighted = self._wanted if self._pending else self.highlighted
        self._pending = False
        with self.prevent(OptionList.OptionHighlighted):
            self.set_options(prompts)
            self.highlighted = highlighted


LINES_KEPT = 16  # rollouts whose timeline lines are kept (at one width and marking each)
_lines: OrderedDict[tuple[object, ...], list[Text]] = OrderedDict()


def timeline_lines(rollout: Rollout, marks: dict[int, list[str]], width: int) -> list[Text]:
    """The timeline's lines, each made once per rollout, width and flag marks (lines are
    never changed in place: a search marks copies)."""
    key = (rollout.id, len(rollout.steps), width, tuple((k, tuple(v)) for k, v in sorted(marks.items())))
    lines = _lines.get(key)
    if lines is None:
        lines = [step_line(preview(step), marks.get(step.index, []), width) for step in rollout.steps]
        _lines[key] = lines
        while len(_lines) > LINES_KEPT:
            _lines.popitem(last=False)
    _lines.move_to_end(key)
    return lines
