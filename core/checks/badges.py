"""The way back from a badge to its check (the badges themselves: `core.badges`).

A labeller reads `NOSTOP` on a rollout and types `flag:nostop` to find the others: the
filter must understand the badge as well as the check id.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.badges import BADGES

__all__ = ["BADGES", "check_of_badge", "checks_named"]  # the map itself lives in core.badges

_BY_BADGE = {badge.lower(): check for check, badge in BADGES.items()}


def check_of_badge(word: str) -> str | None:
    """The check id a badge names (any case), or None when `word` is not a badge."""
    return _BY_BADGE.get(word.lower())


def checks_named(word: str, known: Iterable[str]) -> list[str]:
    """The checks among `known` that `word` names, any case: a badge or a check id exactly,
    else a badge it is the start of (`norer`, only where one badge starts so), else every
    check id it is part of (`tests.`, `loop`). Empty: it names none, and a filter must say so
    rather than silently match nothing."""
    lowered = word.lower()
    known = list(dict.fromkeys(known))
    exact = [c for c in known if c.lower() == lowered or BADGES.get(c, "").lower() == lowered]
    if exact or not lowered:
        return exact
    by_badge = [c for c in known if BADGES.get(c, "").lower().startswith(lowered)]
    if len(by_badge) == 1:
        return by_badge
    return [c for c in known if lowered in c.lower()]
