"""Agreement statistics: Cohen's kappa, Krippendorff's alpha, bootstrap and Wilson intervals.

Krippendorff's alpha comes from the `krippendorff` package (checked in the tests against
Krippendorff's own worked examples); its bootstrap sums per-unit parts instead of calling the
package a thousand times (the same value, checked against the package). Kappa is a few lines
over a confusion matrix. A statistic that is undefined (every rating in one category, no unit
rated twice) is None, never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

Interval = tuple[float, float]


def _defined(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)


def kappa_from_confusion(confusion: npt.NDArray[np.float64]) -> float | None:
    """Cohen's kappa of a square table: rows one rater's category, columns the other's."""
    total = confusion.sum()
    if total == 0:
        return None
    observed = np.trace(confusion) / total
    expected = float(confusion.sum(axis=1) @ confusion.sum(axis=0)) / total**2
    if expected >= 1:  # both raters used one and the same category throughout: undefined
        return None
    return _defined((observed - expected) / (1 - expected))


def _codes(first: Sequence[Hashable], second: Sequence[Hashable]) -> tuple[npt.NDArray[np.intp], ...]:
    if len(first) != len(second):
        raise ValueError(f"two raters of the same items: {len(first)} ratings against {len(second)}")
    index = {value: i for i, value in enumerate(dict.fromkeys([*first, *second]))}
    return np.array([index[v] for v in first], dtype=np.intp), np.array(
        [index[v] for v in second], dtype=np.intp
    )


def _confusion(a: npt.NDArray[np.intp], b: npt.NDArray[np.intp], size: int) -> npt.NDArray[np.float64]:
    return np.bincount(a * size + b, minlength=size * size).reshape(size, size).astype(np.float64)


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters; `first[i]` and `second[i]` rate the same item."""
    a, b = _codes(first, second)
    size = int(max(a.max(initial=-1), b.max(initial=-1))) + 1
    return kappa_from_confusion(_confusion(a, b, size)) if size else None


def value_counts(units: Sequence[Sequence[Hashable]], categories: Sequence[Hashable]) -> npt.NDArray[np.int_]:
    """Units x categories: how many coders gave each category to each unit."""
    column = {c: i for i, c in enumerate(categories)}
    counts = np.zeros((len(units), len(categories)), dtype=np.int_)
    for row, values in enumerate(units):
        for value in values:
            counts[row, column[value]] += 1
    return counts


def alpha_from_counts(counts: npt.NDArray[np.int_]) -> float | None:
    """Nominal Krippendorff's alpha from a units x categories table of value counts."""
    import krippendorff

    counts = counts[counts.sum(axis=1) >= 2]  # a unit rated once has no pair to compare
    counts = counts[:, counts.sum(axis=0) > 0]
    if counts.shape[0] == 0 or counts.shape[1] < 2:
        return None  # nothing to compare, or no variation at all: undefined
    with np.errstate(invalid="ignore", divide="ignore"):
        return _defined(float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")))


def krippendorff_alpha(units: Sequence[Sequence[Hashable]]) -> float | None:
    """Nominal Krippendorff's alpha for any number of coders with missing data.

    `units[i]` lists the values the coders who rated unit i gave it (a coder who did not rate
    it is simply absent): Krippendorff's reliability data, one column per unit, blanks left out.
    """
    categories = list(dict.fromkeys(v for values in units for v in values))
    return alpha_from_counts(value_counts(units, categories))


def bootstrap_interval(
    items: int,
    statistic: Callable[[npt.NDArray[np.intp]], float | None],
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval | None:
    """A percentile bootstrap interval, resampling `items` with replacement.

    `statistic(index)` computes the statistic on the items at `index` (repeats included).
    Resamples where it is undefined are left out; None with fewer than two items or no
    defined resample. The same seed gives the same interval.
    """
    if items < 2 or resamples < 1:
        return None
    rng = np.random.default_rng(seed)
    values = [
        value
        for _ in range(resamples)
        if (value := statistic(rng.integers(0, items, size=items))) is not None
    ]
    if not values:
        return None
    tail = (1 - confidence) / 2
    low, high = np.quantile(np.array(values), [tail, 1 - tail])
    return float(low), float(high)


def kappa_interval(
    first: Sequence[Hashable],
    second: Sequence[Hashable],
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Interval | None:
    """Bootstrap interval of Cohen's kappa over the items both raters rated."""
    a, b = _codes(first, second)
    size = int(max(a.max(initial=-1), b.max(initial=-1))) + 1

    def kappa(index: npt.NDArray[np.intp]) -> float | None:
        return kappa_from_confusion(_confusion(a[index], b[index], size))

    return bootstrap_interval(len(a), kappa, resamples, seed, confidence)


def nominal_alpha_parts(counts: npt.NDArray[np.int_]) -> tuple[npt.NDArray[np.float64], ...]:
    """Per unit (rated at least twice), what nominal alpha sums: its value counts and its
    agreeing pairable values, sum_c m_c (m_c - 1) / (m - 1), the diagonal of its coincidences."""
    pairable = counts[counts.sum(axis=1) >= 2].astype(np.float64)
    totals = pairable.sum(axis=1)
    return pairable, (pairable * (pairable - 1)).sum(axis=1) / (totals - 1)


def nominal_alpha_weighted(
    counts: npt.NDArray[np.float64], agreeing: npt.NDArray[np.float64], weights: npt.NDArray[np.float64]
) -> float | None:
    """Nominal alpha of the units taken `weights` times each (a bootstrap resample), from
    `nominal_alpha_parts`: 1 - (n - 1) (n - sum o_cc) / (n^2 - sum n_c^2). The same value as the
    `krippendorff` package's (checked in the tests), without rebuilding the table per resample."""
    by_value = weights @ counts
    n = by_value.sum()
    expected = n * n - (by_value * by_value).sum()
    if n < 2 or expected <= 0:
        return None
    return _defined(1 - (n - 1) * (n - weights @ agreeing) / expected)


def alpha_interval(
    units: Sequence[Sequence[Hashable]], resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> Interval | None:
    """Bootstrap interval of nominal alpha, resampling the units rated at least twice."""
    categories = list(dict.fromkeys(v for values in units for v in values))
    counts, agreeing = nominal_alpha_parts(value_counts([u for u in units if len(u) >= 2], categories))

    def alpha(index: npt.NDArray[np.intp]) -> float | None:
        weights = np.bincount(index, minlength=counts.shape[0]).astype(np.float64)
        return nominal_alpha_weighted(counts, agreeing, weights)

    return bootstrap_interval(counts.shape[0], alpha, resamples, seed, confidence)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval | None:
    """The Wilson score interval of a proportion; None without trials."""
    if trials <= 0:
        return None
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= trials else min(1.0, centre + half)
    return low, high
