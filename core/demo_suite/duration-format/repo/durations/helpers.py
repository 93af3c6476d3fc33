"""Splitting durations into parts."""


def split_seconds(total_seconds):
    """(hours, minutes, seconds) as ints; fractions of a second are dropped."""
    if total_seconds < 0:
        raise ValueError("durations cannot be negative")
    whole = int(total_seconds)
    hours, rest = divmod(whole, 3600)
    minutes, seconds = divmod(rest, 60)
    return hours, minutes, seconds
