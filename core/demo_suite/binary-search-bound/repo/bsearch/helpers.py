"""Checks on sequences."""


def is_sorted(items):
    """Whether `items` is in non-decreasing order."""
    return all(a <= b for a, b in zip(items, items[1:]))


def midpoint(lo, hi):
    """The middle index between lo and hi, rounding down."""
    return lo + (hi - lo) // 2
