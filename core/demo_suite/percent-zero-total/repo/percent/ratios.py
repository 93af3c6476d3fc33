"""Percentages for progress bars and reports."""

from percent.helpers import clamp


def percentage(part, total, places=1):
    """`part` as a percentage of `total`, rounded to `places`; 0.0 when `total` is 0."""
    if total < 0:
        return 0.0
    return round(part / total * 100, places)


def progress_bar(done, total, width=20):
    """A text bar such as "[#####-----] 50.0%"."""
    share = clamp(percentage(done, total), 0.0, 100.0)
    filled = int(width * share / 100)
    return "[" + "#" * filled + "-" * (width - filled) + f"] {share}%"


def shares(counts):
    """Each key's percentage of the sum of all counts."""
    total = sum(counts.values())
    return {key: percentage(value, total) for key, value in counts.items()}
