from finder.search import count, find, find_in_text

LINES = ["version 1.2 released", "version 1x2 draft", "Notes"]


def test_plain_word_ignores_case():
    assert find(LINES, "notes") == [(3, "Notes")]


def test_dot_is_literal():
    assert find(LINES, "1.2") == [(1, "version 1.2 released")]


def test_count():
    assert count(LINES, "version") == 2


def test_find_in_text_numbers_lines():
    assert find_in_text("a\nb\na", "a") == [(1, "a"), (3, "a")]
