from grids.matrix import row_sums, shape, transpose


def test_square_grid():
    assert transpose([[1, 2], [3, 4]]) == [[1, 3], [2, 4]]


def test_wide_grid():
    assert transpose([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]]


def test_shape_and_sums():
    assert shape([[1, 2, 3], [4, 5, 6]]) == (2, 3)
    assert transpose([]) == []
    assert row_sums([[1, 2], [3, 4]]) == [3, 7]
