import pytest

from bsearch.lookup import checked_index_of, contains, index_of


def test_middle_element():
    assert index_of([1, 3, 5, 7, 9], 5) == 2


def test_every_element_is_found():
    items = [1, 3, 5, 7, 9]
    assert [index_of(items, x) for x in items] == [0, 1, 2, 3, 4]


def test_missing():
    assert index_of([1, 3, 5], 4) == -1
    assert not contains([], 1)


def test_unsorted_rejected():
    with pytest.raises(ValueError):
        checked_index_of([3, 1], 1)
