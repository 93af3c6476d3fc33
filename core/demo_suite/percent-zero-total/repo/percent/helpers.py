"""Numeric helpers."""


def clamp(value, low, high):
    """`value` limited to the range [low, high]."""
    return max(low, min(value, high))
