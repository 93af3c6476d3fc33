"""A rollout's tool-call timeline as text: one line per step, with canonical-kind letters and
flag markers. Rendering text (not a widget per step) keeps long rollouts cheap to draw."""

from __future__ import annotations

from rich.text import Text

from core.schema import ActionKind, Rollout, Step
from core.text import strip_ansi
from tui.widgets.badges import short

KIND_LETTER = {
    ActionKind.LIST: ("L", "cyan"),
    ActionKind.READ: ("R", "blue"),
    ActionKind.SEARCH: ("S", "cyan"),
    ActionKind.EDIT: ("E", "yellow"),
    ActionKind.TEST: ("T", "green"),
    ActionKind.FINISH: ("F", "magenta"),
    ActionKind.OTHER: ("·", "white"),
}


def call_summary(step: Step, width: int = 60) -> str:
    if step.tool_call is None:
        return f"(no valid tool call) {strip_ansi(step.thought)[:width]}"
    args = step.tool_call.arguments
    main = str(args.get("command") or args.get("path") or args.get("query") or "")[: width * 2]
    text = f"{step.tool_call.name}({main})" if main else f"{step.tool_call.name}()"
    return strip_ansi(text.replace("\n", " "))[:width]


def first_line(step: Step, width: int = 50) -> str:
    if step.observation is None:
        return ""
    for line in strip_ansi(step.observation.content[:4000]).splitlines():  # never the whole output
        if line.strip():
            return line.strip()[:width]
    return ""


def flagged_steps(rollout: Rollout) -> dict[int, list[str]]:
    marks: dict[int, list[str]] = {}
    for flag in rollout.flags:
        for index in flag.steps:
            marks.setdefault(index, []).append(flag.check)
    return marks


def step_line(step: Step, marks: list[str], width: int = 100) -> Text:
    """One line, cropped to `width`: flags come before the observation, which matters least."""
    letter, colour = KIND_LETTER.get(step.action.kind if step.action else ActionKind.OTHER, ("?", "red"))
    if step.tool_call is None:
        letter, colour = "!", "red"
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{step.index + 1:>3} ", style="dim")
    line.append(letter, style=f"bold {colour}")
    line.append(" ")
    line.append(call_summary(step, max(20, width // 2)))
    if marks:
        line.append(" ⚑ " + " ".join(short(m) for m in marks), style="bold red")
    observed = first_line(step, width)
    if observed:
        line.append(" → ", style="dim")
        line.append(observed, style="red" if step.observation and step.observation.error else "dim")
    line.truncate(width, overflow="ellipsis")
    return line


def timeline_text(rollout: Rollout, start: int = 0, width: int = 100) -> Text:
    """The timeline from step `start` on; earlier steps are summarised in one line."""
    marks = flagged_steps(rollout)
    out = Text()
    if start > 0:
        out.append(f"  … {start} shared step{'s' if start != 1 else ''} above\n", style="dim italic")
    for step in rollout.steps[start:]:
        out.append_text(step_line(step, marks.get(step.index, []), width))
        out.append("\n")
    if not rollout.steps:
        out.append("(no steps)", style="dim")
    return out
