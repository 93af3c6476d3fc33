"""Turning setting strings into Python values."""


def coerce(text):
    """True/False for "true"/"false", an int or float when it parses, else the string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
