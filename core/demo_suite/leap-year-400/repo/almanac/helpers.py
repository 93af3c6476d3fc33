"""Argument checks for dates."""

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def check_month(month):
    """Raise ValueError unless 1 <= month <= 12."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month}")


def weekday_name(index):
    """The English name of weekday `index` (0 is Monday)."""
    return WEEKDAYS[index % 7]
