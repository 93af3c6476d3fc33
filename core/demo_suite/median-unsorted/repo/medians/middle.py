"""Medians and quartiles for lists of numbers."""

from medians.helpers import as_floats


def median(values):
    """The middle value; the mean of the two middle values for an even count."""
    data = as_floats(values)
    if not data:
        raise ValueError("median of an empty list")
    n = len(data)
    mid = n // 2
    if n % 2:
        return data[mid]
    return (data[mid - 1] + data[mid]) / 2


def median_low(values):
    """The smaller of the two middle values for an even count."""
    ordered = sorted(as_floats(values))
    if not ordered:
        raise ValueError("median of an empty list")
    return ordered[(len(ordered) - 1) // 2]


def quartiles(values):
    """(Q1, median, Q3), using the medians of the lower and upper halves."""
    ordered = sorted(as_floats(values))
    if len(ordered) < 2:
        raise ValueError("need at least two values")
    half = len(ordered) // 2
    upper = ordered[half + len(ordered) % 2 :]
    return median(ordered[:half]), median(ordered), median(upper)
