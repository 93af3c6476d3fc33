import re

import pytest

from core.text import clean_text, strip_ansi, visible

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


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


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),  # OSC 0
        ("\x1b]52;c;ZXZpbA==\x1b\\", "\\x1b]52;c;ZXZpbA==\\x1b\\"),  # OSC 52, ST-terminated
        ("\x1b]2;cut off", "\\x1b]2;cut off"),
        ("\x1b[2J\x1bP1$qm\x1b\\", "\\x1b[2J\\x1bP1$qm\\x1b\\"),  # CSI, DCS
        ("\x9b2J\x9d0;x\x9c", "\\x9b2J\\x9d0;x\\x9c"),  # C1 CSI, OSC, ST
        ("a\x00b\rc\x7f", "a\\x00b\\x0dc\\x7f"),  # NUL, CR (rewrites the line), DEL
        ("\u202eevil\u202c\u2066x\u2069", "\\u202eevil\\u202c\\u2066x\\u2069"),  # bidi
    ],
)
def test_visible_writes_every_control_as_its_escape(raw, shown):
    assert visible(raw) == shown
    assert CONTROLS.search(visible(raw)) is None
    assert visible(visible(raw)) == visible(raw)


def test_visible_leaves_text_alone():
    text = "tab\tline\nnaïve 日本語 עברית 🙂 [b]not markup here[/b]"
    assert visible(text) is text  # no copy: it runs on every table row
    assert CONTROLS.search(visible("".join(map(chr, range(0x3000))))) is None


def test_one_line_makes_an_id_safe_to_show_in_a_title_and_to_paste():
    from core.text import one_line

    assert one_line("02bb3f8e542e441bb98d") == "02bb3f8e542e441bb98d"
    assert one_line("r\x1b]0;t\x07\nrm -rf ~\tx") == "r\\x1b]0;t\\x07\\nrm -rf ~\\tx"
