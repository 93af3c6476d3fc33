"""Parsing human-friendly setting values."""

UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(value):
    """Seconds from 30, "30", "30s", "2m" or "1h"."""
    if isinstance(value, (int, float)):
        return value
    text = str(value).strip().lower()
    if text[-1:] in UNITS:
        return float(text[:-1]) * UNITS[text[-1]]
    return float(text)
