"""Cleaning version strings."""


def strip_prefix(version):
    """Remove spaces and a leading "v": "v1.2" and " 1.2 " give "1.2"."""
    text = version.strip()
    if text[:1] in ("v", "V"):
        text = text[1:]
    return text
