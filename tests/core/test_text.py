from core.text import clean_text, strip_ansi


def test_clean_text_replaces_nul_and_keeps_short_text():
    assert clean_text("a\x00b", 100) == ("a\u2400b", 0)


def test_clean_text_cuts_the_middle_on_a_utf8_boundary():
    text = "é" * 10_000  # two bytes each
    out, cut = clean_text(text, 1000)
    assert cut == 20_000 - 1000
    assert out.startswith("é" * 250) and out.endswith("é" * 250)
    out.encode("utf-8")  # no broken characters


def test_strip_ansi_removes_escapes_and_shows_other_controls():
    assert strip_ansi("\x1b[1;31mred\x1b[0m\x07bell\x1b]0;title\x07") == "red\\x07bell"
    assert strip_ansi("tab\tline\n") == "tab\tline\n"
