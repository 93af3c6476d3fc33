"""Measuring unified diffs."""

from __future__ import annotations

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError


def changed_lines(diff: str) -> int:
    """Added plus removed lines; a diff unidiff cannot parse is counted line by line."""
    if not diff.strip():
        return 0
    try:
        patch = PatchSet(diff)
        return sum(f.added + f.removed for f in patch)
    except UnidiffParseError:
        return sum(
            1
            for line in diff.splitlines()
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
        )
