import pytest

from shorten.truncate import truncate


def test_short_text_unchanged():
    assert truncate("hello", 8) == "hello"


def test_result_fits_width():
    assert truncate("abcdefghij", 8) == "abcde..."


def test_width_too_small():
    with pytest.raises(ValueError):
        truncate("hello", 2)
