"""Splitting text into words."""

import re

WORD = re.compile(r"[A-Za-z']+")


def tokenize(text):
    """The words of `text` in order; apostrophes stay inside words ("don't")."""
    return [word.strip("'") for word in WORD.findall(text) if word.strip("'")]
