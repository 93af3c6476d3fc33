"""The short badge each check is shown by (`NOSTOP` for stuck.no_stop), in a leaf module: the
TUI draws badges on its first screen and needs only this map, not every check (`core.checks`
imports them all). Going from a badge back to its check is `core.checks.badges`."""

from __future__ import annotations

BADGES = {
    "protocol.malformed": "MAL",
    "tests.never_run": "NOTEST",
    "tests.not_rerun": "NORERUN",
    "tests.ignored_failure": "IGNFAIL",
    "tests.weakened": "WEAKEN",
    "files.outside_allowed": "OUTSIDE",
    "diff.too_large": "BIGDIFF",
    "loop.repeat": "LOOP",
    "path.hallucinated": "NOPATH",
    "edit.unread": "UNREAD",
    "stuck.no_stop": "NOSTOP",
    "evidence.uncited": "UNCITED",
}
