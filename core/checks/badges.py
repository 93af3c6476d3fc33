"""The short badge each check is shown by, and the way back from a badge to its check.

A labeller reads `NOSTOP` on a rollout and types `flag:nostop` to find the others: the
filter must understand the badge as well as the check id.
"""

from __future__ import annotations

BADGES = {
    "protocol.malformed": "MAL",
    "tests.never_run": "NOTEST",
    "tests.not_rerun": "NORERUN",
    "tests.ignored_failure": "IGNFAIL",
    "files.outside_allowed": "OUTSIDE",
    "diff.too_large": "BIGDIFF",
    "loop.repeat": "LOOP",
    "path.hallucinated": "NOPATH",
    "edit.unread": "UNREAD",
    "stuck.no_stop": "NOSTOP",
    "evidence.uncited": "UNCITED",
}
_BY_BADGE = {badge.lower(): check for check, badge in BADGES.items()}


def check_of_badge(word: str) -> str | None:
    """The check id a badge names (any case), or None when `word` is not a badge."""
    return _BY_BADGE.get(word.lower())
