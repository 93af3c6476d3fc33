"""Remove duplicates from lists of values and records."""

from collections import Counter

from uniq.helpers import record_key


def unique(items):
    """Items without repeats, in order of first appearance."""
    return list(set(items))


def unique_by(records, field):
    """Records with a new value of `field`; the first one wins and the order is kept."""
    seen = set()
    result = []
    for record in records:
        key = record_key(record, field)
        if key not in seen:
            seen.add(key)
            result.append(record)
    return result


def duplicates(items):
    """Items that occur more than once, each listed once, sorted."""
    counts = Counter(items)
    return sorted(item for item, n in counts.items() if n > 1)
