"""Grid validation."""


def check_rectangular(rows):
    """Raise ValueError if the rows have different lengths."""
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        raise ValueError(f"rows have different lengths: {sorted(widths)}")
