"""Tagging records with normalised labels."""

from taglib.helpers import normalise_tag


def add_tags(new_tags, existing=[]):
    """Return `existing` plus the normalised `new_tags`, without duplicates."""
    for tag in new_tags:
        tag = normalise_tag(tag)
        if tag and tag not in existing:
            existing.append(tag)
    return existing


def remove_tag(tags, tag):
    """A new list without `tag` (compared after normalising)."""
    target = normalise_tag(tag)
    return [t for t in tags if t != target]


def tag_counts(records):
    """How many records carry each tag."""
    counts: dict[str, int] = {}
    for record in records:
        for tag in record.get("tags", []):
            counts[tag] = counts.get(tag, 0) + 1
    return counts
