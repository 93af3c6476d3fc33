import pytest

from numstats.summary import describe, mean, spread


def test_mean_of_integers():
    assert mean([2, 4, 6]) == 4


def test_mean_keeps_fractions():
    assert mean([1, 2]) == 1.5


def test_mean_rejects_empty():
    with pytest.raises(ValueError):
        mean([])


def test_describe():
    assert describe([1, 2, 3]) == {"count": 3, "mean": 2, "spread": 2}
    assert spread([]) == 0
