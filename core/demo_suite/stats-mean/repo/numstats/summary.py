"""Summary statistics for lists of numbers."""

from numstats.helpers import require_numbers


def total(values):
    """The sum of the values."""
    require_numbers(values)
    result = 0
    for value in values:
        result += value
    return result


def mean(values):
    """The arithmetic mean; raises ValueError on an empty list."""
    require_numbers(values)
    if not values:
        raise ValueError("mean of an empty list")
    return total(values) // len(values)


def spread(values):
    """The distance between the smallest and the largest value (0 for no values)."""
    require_numbers(values)
    if not values:
        return 0
    return max(values) - min(values)


def describe(values):
    """A small summary: count, mean and spread."""
    return {
        "count": len(values),
        "mean": mean(values),
        "spread": spread(values),
    }
