"""Input checks and display helpers shared by the statistics functions."""

from numbers import Number


def require_numbers(values):
    """Raise TypeError unless every value is a real number (bools are rejected)."""
    for value in values:
        if isinstance(value, bool) or not isinstance(value, Number):
            raise TypeError(f"not a number: {value!r}")


def round_to(value, places=2):
    """Round a statistic for display."""
    return round(value, places)
