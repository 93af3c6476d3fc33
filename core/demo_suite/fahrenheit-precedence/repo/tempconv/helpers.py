"""Unit checks."""

UNITS = ("C", "F", "K")


def check_unit(unit):
    """Raise ValueError for anything but "C", "F" or "K"."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")
