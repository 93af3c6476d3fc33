from durations.clock import format_clock, format_words


def test_under_a_minute():
    assert format_clock(59) == "0:59"


def test_minutes_and_seconds():
    assert format_clock(125) == "2:05"


def test_hours():
    assert format_clock(3725) == "1:02:05"


def test_words():
    assert format_words(3725) == "1h 2m 5s"
    assert format_words(0) == "0s"
