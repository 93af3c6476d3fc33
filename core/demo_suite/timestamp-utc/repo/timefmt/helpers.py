"""Normalising timestamp inputs."""

MILLISECONDS_THRESHOLD = 100_000_000_000  # values above this are taken as milliseconds


def ensure_seconds(ts):
    """Seconds since the epoch from seconds or milliseconds."""
    if ts > MILLISECONDS_THRESHOLD:
        return ts / 1000
    return ts
