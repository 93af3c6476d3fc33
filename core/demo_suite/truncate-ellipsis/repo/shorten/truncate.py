"""Shorten text for narrow displays."""

from shorten.helpers import last_space

ELLIPSIS = "..."


def truncate(text, width=20):
    """At most `width` characters; longer text ends in "..." (which counts toward the width)."""
    if width < len(ELLIPSIS):
        raise ValueError(f"width must be at least {len(ELLIPSIS)}")
    if len(text) <= width:
        return text
    return text[:width] + ELLIPSIS


def truncate_words(text, width=20):
    """Like truncate(), but cuts at the last space that fits when there is one."""
    short = truncate(text, width)
    if short == text:
        return text
    cut = last_space(short)
    if cut <= 0:
        return short
    return text[:cut].rstrip() + ELLIPSIS


def fits(text, width):
    """Whether `text` needs no truncation."""
    return len(text) <= width
