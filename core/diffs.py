"""Measuring unified diffs."""

from __future__ import annotations

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError


def changed_lines(diff: str) -> int:
    """Added plus removed lines, counted by unidiff; by +/- lines when the text does not parse.

    The one count: the `diff.too_large` check, the stored rollouts and a branch's known fix
    must agree on what is over the budget."""
    if not diff.strip():
        return 0
    try:
        patch = PatchSet(diff)
    except (UnidiffParseError, ValueError, UnicodeError):
        patch = None
    if patch:
        return sum(f.added + f.removed for f in patch)
    return sum(
        1
        for line in diff.splitlines()
        if line[:1] in ("+", "-") and not line.startswith(("+++ ", "--- ")) and line not in ("+++", "---")
    )
