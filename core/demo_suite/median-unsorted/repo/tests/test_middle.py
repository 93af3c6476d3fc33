import pytest

from medians.middle import median, median_low


def test_odd_count():
    assert median([1, 2, 3]) == 2


def test_even_count():
    assert median([1, 2, 3, 4]) == 2.5


def test_unsorted_input():
    assert median([5, 1, 3]) == 3


def test_low_and_empty():
    assert median_low([4, 1, 3, 2]) == 2
    with pytest.raises(ValueError):
        median([])
