"""Small-sample statistics for comparing flag and pass rates before and after tuning.

Evaluation runs are tens to a few hundred rollouts, and the rates we care about (a behaviour that
should vanish) sit near 0 or 1, exactly where the textbook normal approximation gives intervals
that spill outside [0, 1] or collapse to zero width. So intervals use Wilson's score method and
Newcombe's hybrid built on it, and tests use Fisher's exact test rather than a chi-squared one.
Only the standard library is used: the package must stay importable without scipy.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054
"""The two-sided 95% normal quantile, spelled out so results match published tables digit for digit."""

FISHER_RELATIVE_TOLERANCE = 1e-7
"""Tables whose probability is within this fraction of the observed one count as "as extreme".

Mathematically tied tables (any symmetric design) come out of floating point a hair apart; without
the tolerance one of them would be dropped and the p-value halved. R and scipy use the same margin.
"""


def _check_counts(successes: int, n: int) -> None:
    """Fail loudly: a count outside [0, n] means the caller mixed up numerators and denominators."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Unlike the Wald interval it never leaves [0, 1] and still has width when nothing (or
    everything) was flagged, which is the common case for a behaviour tuning removed. With no
    observations the proportion could be anything, hence (0, 1).
    """
    _check_counts(successes, n)
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n)) / denominator
    lower = 0.0 if successes == 0 else max(0.0, centre - half_width)
    upper = 1.0 if successes == n else min(1.0, centre + half_width)
    return (lower, upper)


def newcombe_interval(
    before_successes: int, before_n: int, after_successes: int, after_n: int, z: float = Z95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10, Newcombe 1998) for after minus before.

    It combines the two Wilson intervals, so it inherits their good behaviour at 0 and 1 and
    needs no iteration, and it performed close to nominal coverage in Newcombe's comparison of
    eleven methods. The paper reports p1 - p2; here the second (after) group comes first in the
    difference so a negative value reads "the rate fell". With an empty side nothing is known
    about the difference, so the whole possible range comes back.
    """
    _check_counts(before_successes, before_n)
    _check_counts(after_successes, after_n)
    if before_n == 0 or after_n == 0:
        return (-1.0, 1.0)
    p_before = before_successes / before_n
    p_after = after_successes / after_n
    lo_before, hi_before = wilson_interval(before_successes, before_n, z)
    lo_after, hi_after = wilson_interval(after_successes, after_n, z)
    diff = p_after - p_before
    lower = diff - math.hypot(p_after - lo_after, hi_before - p_before)
    upper = diff + math.hypot(hi_after - p_after, p_before - lo_before)
    return (max(-1.0, lower), min(1.0, upper))


def _log_choose(n: int, k: int) -> float:
    """log C(n, k) through lgamma, so tables of thousands of rollouts neither overflow nor crawl."""
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact_p(before_successes: int, before_n: int, after_successes: int, after_n: int) -> float:
    """Two-sided Fisher exact p-value for [[x1, n1 - x1], [x2, n2 - x2]], as scipy computes it.

    Exact because the counts are small and near the boundaries, where chi-squared is unreliable.
    "Two-sided" follows scipy and R: add up every table with the same margins that is no more
    likely than the observed one. Probabilities are handled in log space relative to the most
    likely table, so large counts lose no precision to overflow or underflow.
    """
    _check_counts(before_successes, before_n)
    _check_counts(after_successes, after_n)
    total = before_n + after_n
    column = before_successes + after_successes
    k_min = max(0, before_n - (total - column))
    k_max = min(before_n, column)
    log_weights = [
        _log_choose(column, k) + _log_choose(total - column, before_n - k) for k in range(k_min, k_max + 1)
    ]
    observed = log_weights[before_successes - k_min]
    threshold = observed + math.log1p(FISHER_RELATIVE_TOLERANCE)
    peak = max(log_weights)
    weights = [math.exp(w - peak) for w in log_weights]
    extreme = math.fsum(w for w, lw in zip(weights, log_weights, strict=True) if lw <= threshold)
    return min(1.0, max(0.0, extreme / math.fsum(weights)))
