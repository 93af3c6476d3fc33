"""Tag normalisation."""

MAX_TAG_LENGTH = 32


def normalise_tag(tag):
    """Lower-case, trimmed, inner spaces as dashes, at most MAX_TAG_LENGTH characters."""
    cleaned = "-".join(str(tag).strip().lower().split())
    return cleaned[:MAX_TAG_LENGTH]
