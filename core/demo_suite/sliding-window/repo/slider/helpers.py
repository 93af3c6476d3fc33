"""Small numeric helpers."""


def require_size(size):
    """Raise ValueError unless `size` is a positive int."""
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")


def average(values):
    """The mean of a non-empty list."""
    return sum(values) / len(values)
