"""Searching text for break points."""


def last_space(text):
    """Index of the last space in `text`, or -1."""
    return text.rfind(" ")


def display_width(text):
    """The width of `text` in a terminal (every character counts as one here)."""
    return len(text)
