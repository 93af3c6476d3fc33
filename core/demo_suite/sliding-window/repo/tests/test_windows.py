from slider.windows import batches, flatten, windows


def test_windows_of_two():
    assert windows([1, 2, 3], 2) == [[1, 2], [2, 3]]


def test_window_larger_than_input():
    assert windows([1, 2], 3) == []


def test_batches_keep_remainder():
    assert batches([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert flatten(batches([1, 2, 3], 2)) == [1, 2, 3]
