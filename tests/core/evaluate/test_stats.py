"""Intervals, tests and corrections checked against published examples and exact hand computation."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import pytest

from core.evaluate.stats import (
    ClusterCounts,
    cluster_bootstrap_interval,
    holm_adjust,
    mcnemar_exact_p,
    wilson_interval,
)

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


MCNEMAR_KNOWN = [
    ((1, 9), 22 / 1024),  # 2 * P(X <= 1), X ~ Bin(10, 1/2) = 2 * 11/1024 = 0.021484375
    # Fagerland, Lydersen & Laake (2013), BMC Med Res Methodol 13:91, Table 1: airway
    # hyper-responsiveness before/after stem cell transplantation, n12 = 1, n21 = 7; they report
    # the exact conditional p = 0.070 (= 2 * 9/256).
    ((1, 7), 0.0703125),
    ((0, 5), 2 / 32),
    ((0, 12), 2 / 4096),
    ((3, 3), 1.0),  # b = c: as balanced as it can be
    ((0, 0), 1.0),  # no discordant pair: nothing to test
    ((4, 5), 1.0),  # 2 * P(X <= 4) for Bin(9, 1/2) is exactly 1
]


@pytest.mark.parametrize(("bc", "p"), MCNEMAR_KNOWN)
def test_mcnemar_matches_known_values(bc: tuple[int, int], p: float) -> None:
    assert mcnemar_exact_p(*bc) == pytest.approx(p, abs=1e-12)
    assert mcnemar_exact_p(*reversed(bc)) == mcnemar_exact_p(*bc)


def test_mcnemar_with_fagerland_rounding() -> None:
    assert round(mcnemar_exact_p(1, 7), 3) == 0.070


def _exact_mcnemar(b: int, c: int) -> float:
    """Independent reference: the binomial tail summed from math.comb in rationals."""
    n = b + c
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


@pytest.mark.parametrize("bc", [(12, 30), (100, 140), (999, 1000), (0, 3000), (2000, 2200)])
def test_mcnemar_matches_exact_arithmetic_for_large_counts(bc: tuple[int, int]) -> None:
    assert mcnemar_exact_p(*bc) == pytest.approx(_exact_mcnemar(*bc), rel=1e-12, abs=1e-300)


def test_mcnemar_is_fast_for_thousands_of_pairs() -> None:
    start = time.perf_counter()
    p = mcnemar_exact_p(2000, 2200)
    assert time.perf_counter() - start < 1.0
    assert 0.0 < p < 0.05


def test_mcnemar_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        mcnemar_exact_p(-1, 3)


# Holm (1979) by hand: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 gives 0.02, 0.03, 0.06, 0.04;
# the running maximum lifts the last to 0.06. Back in the given order: 0.03, 0.06, 0.06, 0.02.
HOLM_KNOWN = [
    ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
    ([0.01, 0.011, 0.5], [0.03, 0.03, 0.5]),  # 2 * 0.011 = 0.022 is lifted to 0.03: monotone
    ([0.6, 0.9], [1.0, 1.0]),  # capped at 1
    ([0.02], [0.02]),  # one test needs no correction
    ([], []),
    ([0.01, 0.01, 0.2], [0.03, 0.03, 0.2]),  # ties keep their values, whatever their order
]


@pytest.mark.parametrize(("raw", "adjusted"), HOLM_KNOWN)
def test_holm_matches_hand_computation(raw: list[float], adjusted: list[float]) -> None:
    assert holm_adjust(raw) == pytest.approx(adjusted, abs=1e-12)


def test_holm_is_between_the_raw_p_and_bonferroni() -> None:
    raw = [0.001, 0.2, 0.013, 0.04, 0.5, 0.0004, 0.03]
    adjusted = holm_adjust(raw)
    for p, q in zip(raw, adjusted, strict=True):
        assert p <= q <= min(1.0, len(raw) * p)
    ranked = sorted(zip(raw, adjusted, strict=True))
    assert [q for _, q in ranked] == sorted(q for _, q in ranked)  # order of p is kept


def _diff(clusters: list[ClusterCounts]) -> float:
    n = sum(c.pairs for c in clusters)
    return sum(c.after for c in clusters) / n - sum(c.before for c in clusters) / n


MIXED = [ClusterCounts(8, 6, 2), ClusterCounts(8, 3, 3), ClusterCounts(8, 5, 0), ClusterCounts(8, 1, 1)]


def test_bootstrap_contains_the_point_difference_and_is_deterministic() -> None:
    lo, hi = cluster_bootstrap_interval(MIXED)
    assert lo < _diff(MIXED) < hi
    assert cluster_bootstrap_interval(MIXED) == (lo, hi)
    assert cluster_bootstrap_interval(list(MIXED)) == (lo, hi)


def test_bootstrap_resamples_tasks_not_seeds() -> None:
    """Seeds that move together within a task carry less information than independent pairs."""
    tasks = [ClusterCounts(8, 0, 8 if t % 2 else 0) for t in range(10)]
    pairs = [ClusterCounts(1, 0, 1 if t % 2 else 0) for t in range(10) for _ in range(8)]
    assert _diff(tasks) == _diff(pairs) == 0.5
    lo_t, hi_t = cluster_bootstrap_interval(tasks)
    lo_p, hi_p = cluster_bootstrap_interval(pairs)
    assert hi_t - lo_t > 1.5 * (hi_p - lo_p)
    assert lo_t < 0.5 < hi_t


def test_bootstrap_of_identical_tasks_has_no_width() -> None:
    assert cluster_bootstrap_interval([ClusterCounts(4, 3, 1)] * 5) == (-0.5, -0.5)
    assert cluster_bootstrap_interval([ClusterCounts(4, 2, 2)]) == (0.0, 0.0)


def test_bootstrap_without_pairs_is_uninformative() -> None:
    assert cluster_bootstrap_interval([]) == (-1.0, 1.0)
    assert cluster_bootstrap_interval([ClusterCounts(0, 0, 0)]) == (-1.0, 1.0)


def test_bootstrap_stays_within_minus_one_and_one() -> None:
    lo, hi = cluster_bootstrap_interval([ClusterCounts(3, 3, 0), ClusterCounts(2, 0, 2)])
    assert -1.0 <= lo <= hi <= 1.0


@pytest.mark.parametrize("cluster", [ClusterCounts(3, 4, 0), ClusterCounts(3, 0, -1)])
def test_bootstrap_rejects_impossible_counts(cluster: ClusterCounts) -> None:
    with pytest.raises(ValueError):
        cluster_bootstrap_interval([cluster])


def test_bootstrap_is_fast_for_hundreds_of_tasks() -> None:
    clusters = [ClusterCounts(8, t % 5, (t * 3) % 7) for t in range(300)]
    start = time.perf_counter()
    cluster_bootstrap_interval(clusters)
    assert time.perf_counter() - start < 2.0
