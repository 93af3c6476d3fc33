"""Binary search over sorted sequences."""

from bsearch.helpers import is_sorted


def index_of(items, target):
    """Index of `target` in the sorted list `items`, or -1 when it is missing."""
    lo, hi = 0, len(items) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if items[mid] == target:
            return mid
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1


def contains(items, target):
    """Whether `target` is in the sorted list `items`."""
    return index_of(items, target) != -1


def checked_index_of(items, target):
    """Like index_of, but refuses unsorted input."""
    if not is_sorted(items):
        raise ValueError("items must be sorted")
    return index_of(items, target)
