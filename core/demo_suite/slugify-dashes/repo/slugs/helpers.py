"""Text helpers for slugs."""

import unicodedata


def strip_accents(text):
    """Remove combining marks: "Crème brûlée" -> "Creme brulee"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def collapse_spaces(text):
    """Collapse runs of whitespace into single spaces."""
    return " ".join(text.split())
