"""Argument checks for the pager."""


def check_positive(value, name):
    """Return `value` if it is an int >= 1, else raise ValueError naming the argument."""
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def clamp(value, low, high):
    """`value` limited to the range [low, high]."""
    return max(low, min(value, high))
