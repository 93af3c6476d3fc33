"""Small rectangular grids stored as lists of rows."""

from grids.helpers import check_rectangular


def shape(rows):
    """(row count, column count)."""
    check_rectangular(rows)
    return (len(rows), len(rows[0]) if rows else 0)


def transpose(rows):
    """Columns become rows: [[1, 2, 3], [4, 5, 6]] -> [[1, 4], [2, 5], [3, 6]]."""
    check_rectangular(rows)
    if not rows:
        return []
    return [[rows[r][c] for r in range(len(rows))] for c in range(len(rows))]


def row_sums(rows):
    """The sum of each row."""
    return [sum(row) for row in rows]


def column_sums(rows):
    """The sum of each column."""
    return row_sums(transpose(rows))
