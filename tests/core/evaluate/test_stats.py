"""Interval and test values checked against published tables and exact hand computation."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import pytest

from core.evaluate.stats import fisher_exact_p, newcombe_interval, wilson_interval

# Newcombe (1998), "Two-sided confidence intervals for the single proportion", method 3 (score).
WILSON_PUBLISHED = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("x", "n", "lo", "hi"), WILSON_PUBLISHED)
def test_wilson_matches_newcombe_1998(x: int, n: int, lo: float, hi: float) -> None:
    assert wilson_interval(x, n) == pytest.approx((lo, hi), abs=1e-4)


def test_wilson_is_exact_at_the_boundaries() -> None:
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    assert wilson_interval(10, 10) == (pytest.approx(0.7225, abs=1e-4), 1.0)


def test_wilson_with_no_observations_is_uninformative() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_narrows_with_a_smaller_z() -> None:
    lo95, hi95 = wilson_interval(5, 20)
    lo90, hi90 = wilson_interval(5, 20, z=1.6448536269514722)
    assert lo95 < lo90 < 0.25 < hi90 < hi95


@pytest.mark.parametrize(("x", "n"), [(-1, 5), (6, 5), (0, -1)])
def test_wilson_rejects_impossible_counts(x: int, n: int) -> None:
    with pytest.raises(ValueError):
        wilson_interval(x, n)


# Newcombe (1998), "Interval estimation for the difference between independent proportions",
# Table II, method 10. The paper's difference is p1 - p2; ours is after - before, so the paper's
# first group is passed as "after" and its second as "before".
NEWCOMBE_PUBLISHED = [
    (56, 70, 48, 80, 0.2000, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.6000, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.5714, 0.0582, 0.8062),
    (5, 56, 0, 29, 0.0893, -0.0381, 0.1926),
    (0, 10, 0, 20, 0.0, -0.1611, 0.2775),
    (0, 10, 0, 10, 0.0, -0.2775, 0.2775),
    (10, 10, 0, 20, 1.0, 0.6791, 1.0),
    (10, 10, 0, 10, 1.0, 0.6075, 1.0),
]


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "diff", "lo", "hi"), NEWCOMBE_PUBLISHED)
def test_newcombe_matches_the_paper(
    x1: int, n1: int, x2: int, n2: int, diff: float, lo: float, hi: float
) -> None:
    assert x1 / n1 - x2 / n2 == pytest.approx(diff, abs=1e-4)
    assert newcombe_interval(x2, n2, x1, n1) == pytest.approx((lo, hi), abs=1e-4)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "diff", "lo", "hi"), NEWCOMBE_PUBLISHED)
def test_newcombe_swapping_sides_negates_the_interval(
    x1: int, n1: int, x2: int, n2: int, diff: float, lo: float, hi: float
) -> None:
    assert newcombe_interval(x1, n1, x2, n2) == pytest.approx((-hi, -lo), abs=1e-4)


def test_newcombe_reads_a_fall_as_negative() -> None:
    lo, hi = newcombe_interval(9, 10, 3, 10)
    assert lo < hi < 0


@pytest.mark.parametrize("args", [(0, 0, 3, 10), (3, 10, 0, 0), (0, 0, 0, 0)])
def test_newcombe_with_an_empty_side_is_uninformative(args: tuple[int, int, int, int]) -> None:
    assert newcombe_interval(*args) == (-1.0, 1.0)


def test_newcombe_stays_within_minus_one_and_one() -> None:
    lo, hi = newcombe_interval(0, 1, 1, 1)
    assert -1.0 <= lo <= hi <= 1.0


FISHER_KNOWN = [
    ((3, 4, 1, 4), 0.4857142857),  # Fisher's tea tasting [[3, 1], [1, 3]]: 34/70
    ((1, 10, 11, 14), 0.002759456),  # [[1, 9], [11, 3]], the scipy documentation example
    ((0, 5, 5, 5), 0.007936508),  # [[0, 5], [5, 0]]: 2 / C(10, 5)
    ((6, 8, 1, 5), 0.1025641026),  # [[6, 2], [1, 4]]: 8/78
]


@pytest.mark.parametrize(("args", "p"), FISHER_KNOWN)
def test_fisher_matches_known_values(args: tuple[int, int, int, int], p: float) -> None:
    assert fisher_exact_p(*args) == pytest.approx(p, abs=1e-8)


@pytest.mark.parametrize(
    "args",
    [(0, 5, 0, 5), (5, 5, 5, 5), (0, 0, 3, 5), (3, 5, 0, 0), (0, 0, 0, 0), (2, 4, 4, 8)],
)
def test_fisher_is_one_when_there_is_nothing_to_see(args: tuple[int, int, int, int]) -> None:
    assert fisher_exact_p(*args) == pytest.approx(1.0, abs=1e-12)


def test_fisher_is_symmetric_in_the_two_groups() -> None:
    assert fisher_exact_p(3, 17, 12, 20) == pytest.approx(fisher_exact_p(12, 20, 3, 17), rel=1e-12)


def test_fisher_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        fisher_exact_p(6, 5, 0, 5)


def _exact_fisher(x1: int, n1: int, x2: int, n2: int) -> float:
    """Independent reference: exact rational hypergeometric probabilities, no tolerance needed."""
    column, total = x1 + x2, n1 + n2
    support = range(max(0, n1 - (total - column)), min(n1, column) + 1)
    weights = {k: math.comb(column, k) * math.comb(total - column, n1 - k) for k in support}
    extreme = sum(w for w in weights.values() if w <= weights[x1])
    return float(Fraction(extreme, math.comb(total, n1)))


@pytest.mark.parametrize(
    "args", [(12, 40, 25, 45), (500, 1000, 450, 1000), (30, 2500, 55, 2500), (1, 3000, 9, 2000)]
)
def test_fisher_matches_exact_arithmetic_for_large_counts(args: tuple[int, int, int, int]) -> None:
    assert fisher_exact_p(*args) == pytest.approx(_exact_fisher(*args), rel=1e-9, abs=1e-15)


def test_fisher_is_fast_for_thousands_of_rollouts() -> None:
    start = time.perf_counter()
    p = fisher_exact_p(2000, 4000, 2100, 4000)
    assert time.perf_counter() - start < 1.0
    assert 0.0 < p < 0.05
