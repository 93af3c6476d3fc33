"""Short flag badges: the check id's first letters, coloured by weight; outcome notes."""

from __future__ import annotations

from rich.text import Text

from core.badges import BADGES
from core.text import visible

SHORT = BADGES  # check id -> badge (core.badges)


def short(check: str) -> str:
    """The badge of a check id; an unknown id (from data) is shown `visible`."""
    return SHORT.get(check) or visible(check.rsplit(".", 1)[-1][:8].upper())


def badges(flags: list[str]) -> Text:
    text = Text()
    for check in flags:
        text.append(f" {short(check)} ", style="bold white on dark_red")
        text.append(" ")
    if not flags:
        text.append(" clean ", style="bold black on green")
    return text


def own_tests_note(passed: bool | int | None, passed_own: bool | int | None, mark: bool = False) -> str:
    """What to add to an outcome when the agent's own worktree disagrees with the task's tests.

    The outcome shown is the honest one (the task's own tests); passing only with the tests as
    the agent left them is how a weakened test shows. `mark`: the tables' one-character form.
    """
    if passed_own is None or passed is None or bool(passed_own) == bool(passed):
        return ""
    return "*" if mark else f" (own tests: {'pass' if passed_own else 'fail'})"
