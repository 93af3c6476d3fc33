"""A rollout's tool-call timeline as text: one line per step, with canonical-kind letters and
flag markers, cut to a width with an ellipsis (never wrapped). Rendering text (not a widget per
step) keeps long rollouts cheap to draw. `step_haystack` is a step's whole text, for searches."""

from __future__ import annotations

from rich.text import Text

from core.schema import ActionKind, Rollout, Step
from core.text import ANSI_RE, strip_ansi
from tui.widgets.badges import short

MATCH = "bold black on yellow"  # a search's match, wherever one is marked
HAYSTACK_CHARS = 1_000_000  # of each text of a step searched (the detail shows no more either)
KIND_LETTER = {
    ActionKind.LIST: ("L", "cyan"),
    ActionKind.READ: ("R", "blue"),
    ActionKind.SEARCH: ("S", "cyan"),
    ActionKind.EDIT: ("E", "yellow"),
    ActionKind.TEST: ("T", "green"),
    ActionKind.FINISH: ("F", "magenta"),
    ActionKind.OTHER: ("·", "white"),
}


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, ending in an ellipsis when something was cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def call_summary(step: Step, width: int = 60) -> str:
    """The call on one line, ending in an ellipsis when cut. Only what can be shown is made
    display-safe: an argument of megabytes is cut first."""
    if step.tool_call is None:
        return cut(f"(no valid tool call) {one_line_of(step.thought[: width * 4])}", width)
    args = step.tool_call.arguments
    main = str(args.get("command") or args.get("path") or args.get("query") or "")
    shown = one_line_of(main[: width * 4])
    name = one_line_of(step.tool_call.name[: width * 2])
    if shown:
        inner = width - len(name) - 2  # the room between the parentheses
        if len(shown) > inner or len(main) > width * 4:
            shown = shown[: max(0, inner - 1)] + "…"
        return cut(f"{name}({shown})", width)
    return cut(f"{name}()", width)


def one_line_of(text: str) -> str:
    """Display-safe text on one line: escapes dropped, controls made visible, newlines as spaces."""
    return " ".join(strip_ansi(text).split())


def first_line(step: Step, width: int = 50) -> str:
    """The observation's first non-blank line. Only the lines up to it are made display-safe
    (outputs can be megabytes, and a timeline shows one line of each)."""
    if step.observation is None:
        return ""
    for raw in step.observation.content[:4000].splitlines():  # never the whole output
        line = strip_ansi(raw).replace("\t", " ").strip()
        if line:
            return cut(line, width)
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


def shared_line(start: int) -> Text:
    """What stands for the steps both sides share, above the divergence."""
    return Text(f"  … {start} shared step{'s' if start != 1 else ''} above", style="dim italic")


def step_haystack(step: Step) -> str:
    """Everything of a step a person can read in the detail, in lower case for a search."""
    parts = [step.thought[:HAYSTACK_CHARS], (step.malformed or "")[:HAYSTACK_CHARS]]
    if step.tool_call is not None:
        parts += [step.tool_call.name, (step.tool_call.raw or "")[:HAYSTACK_CHARS]]
        parts += [f"{k} {str(v)[:HAYSTACK_CHARS]}" for k, v in step.tool_call.arguments.items()]
    if step.observation is not None:
        parts.append(step.observation.content[:HAYSTACK_CHARS])
    text = "\n".join(parts)
    return (ANSI_RE.sub("", text) if "\x1b" in text else text).lower()
