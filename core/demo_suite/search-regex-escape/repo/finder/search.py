"""Find lines that mention a term."""

import re

from finder.helpers import read_lines


def compile_term(term, ignore_case=True):
    """A pattern that matches `term` literally (punctuation included)."""
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(term, flags)


def find(lines, term, ignore_case=True):
    """(line number, line) for every line that contains `term`; numbers start at 1."""
    pattern = compile_term(term, ignore_case)
    return [(number, line) for number, line in enumerate(lines, start=1) if pattern.search(line)]


def find_in_text(text, term, ignore_case=True):
    """Like find(), over a block of text."""
    return find(read_lines(text), term, ignore_case)


def count(lines, term):
    """How many lines mention `term`."""
    return len(find(lines, term))
