"""`Acc`: what the simple commands of one command line do, collected as they are classified."""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.actions.paths import NULL_TARGETS, normalize_path
from core.schema import ActionKind

K = ActionKind
UNKNOWN_PATH_RE = re.compile(r"[$`]")


class Acc:
    """What the simple commands of one command line do, collected in order, and where they run.

    `core.actions.canonical` freezes it into an `Effects`; the fields match.
    """

    __slots__ = (
        "created",
        "cwd",
        "deleted",
        "depth",
        "edit",
        "edits_open_file",
        "exit_is_test",
        "kinds",
        "listed",
        "opened",
        "read",
        "search",
        "written",
    )

    def __init__(self) -> None:
        self.kinds: list[ActionKind] = []
        self.read: list[str] = []
        self.search: list[str] = []
        self.listed: list[str] = []
        self.edit: list[str] = []
        self.written: list[str] = []
        self.created: list[str] = []
        self.deleted: list[str] = []
        self.opened: str | None = None
        self.edits_open_file = False
        self.exit_is_test = False
        self.cwd = ""  # repo-relative directory after `cd`, "" for the root
        self.depth = 0  # nesting of `bash -c`

    def norm(self, paths: Iterable[str]) -> list[str]:
        cwd = self.cwd
        # `$f`, `$(...)` and backticks are only known when the shell runs: no path to judge.
        return [
            normalize_path(p, cwd)
            for p in paths
            if p and p not in NULL_TARGETS and not UNKNOWN_PATH_RE.search(p)
        ]

    def add(self, kind: ActionKind, paths: Iterable[str] = ()) -> list[str]:
        """Record a kind and its paths; returns the normalised paths."""
        self.kinds.append(kind)
        if not paths:
            return []
        normal = self.norm(paths)
        if kind is K.READ:
            self.read.extend(normal)
        elif kind is K.EDIT:
            self.edit.extend(normal)
        elif kind is K.SEARCH:
            self.search.extend(normal)
        elif kind is K.LIST:
            self.listed.extend(normal)
        return normal

    def edit_open_file(self) -> None:
        """SWE-agent `edit N:M`: an edit of the file `open` or `create` named earlier."""
        self.add(K.EDIT)
        self.edits_open_file = True
