"""Sliding windows and batches over lists."""

from slider.helpers import average, require_size


def windows(items, size):
    """Every run of `size` consecutive items: windows([1, 2, 3], 2) -> [[1, 2], [2, 3]]."""
    require_size(size)
    return [items[i : i + size] for i in range(len(items) - size)]


def moving_average(values, size):
    """The average of each window of `size` values."""
    return [average(window) for window in windows(values, size)]


def batches(items, size):
    """Consecutive, non-overlapping lists of `size` items; the last one may be shorter."""
    require_size(size)
    return [items[i : i + size] for i in range(0, len(items), size)]


def flatten(groups):
    """One flat list from a list of lists."""
    result = []
    for group in groups:
        result.extend(group)
    return result
