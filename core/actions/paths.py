"""Paths as agents write them: normalised textually, and the files a patch names.

Paths are normalised textually (`normalize_path`): the filesystem is never touched, and paths
outside the repository stay absolute or `../...` so that a check can see the escape.
"""

from __future__ import annotations

import posixpath
import re

REPO_ROOTS: tuple[str, ...] = ("/testbed", "/repo", "/workspace", "/app")
NULL_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "-"})


def normalize_path(path: str, cwd: str = "") -> str:
    """Repo-relative when inside a well-known repo root (`/testbed/a.py` -> `a.py`); textual only."""
    if not path:
        return path
    if cwd and path[0] not in "/~$":
        path = f"{cwd}/{path}"
    if path.startswith("./") or "/." in path or "//" in path or (len(path) > 1 and path[-1] == "/"):
        path = posixpath.normpath(path)
    if path[0] == "/":
        for root in REPO_ROOTS:
            if path.startswith(root):
                if len(path) == len(root):
                    return "."
                if path[len(root)] == "/":
                    return path[len(root) + 1 :]
    return path


PATCH_FILE_RE = re.compile(
    r"^(?:\*\*\* (Add|Update|Delete) File: (.+?)\s*$|\+\+\+ (?:b/)?(\S+)|--- (?:a/)?(\S+))", re.M
)


def patch_paths(text: str) -> tuple[list[str], list[str], list[str]]:
    """(changed, added, deleted) paths named by a unified diff or a Codex `*** Begin Patch`."""
    changed: list[str] = []
    added: list[str] = []
    deleted: list[str] = []
    old: str | None = None
    for m in PATCH_FILE_RE.finditer(text):
        verb, codex_path, new_path, old_path = m.groups()
        if codex_path:
            changed.append(normalize_path(codex_path))
            if verb == "Add":
                added.append(changed[-1])
            elif verb == "Delete":
                deleted.append(changed[-1])
        elif old_path is not None:
            old = old_path
        elif new_path == "/dev/null":
            if old and old != "/dev/null":
                changed.append(normalize_path(old))
                deleted.append(changed[-1])
        elif new_path is not None:
            changed.append(normalize_path(new_path))
            if old == "/dev/null":
                added.append(changed[-1])
    return changed, added, deleted
