"""Small-sample, paired statistics for comparing flag and pass rates before and after tuning.

Evaluation runs are tens to a few hundred rollouts, and the rates we care about (a behaviour that
should vanish) sit near 0 or 1, exactly where the textbook normal approximation gives intervals
that spill outside [0, 1] or collapse to zero width. So each rate's interval is Wilson's score
interval. Before and after share tasks and seeds, so the comparison is paired: McNemar's exact
test on the discordant pairs, a bootstrap over tasks for the difference (seeds of one task are
correlated), and Holm's correction because every failure mode is tested at once.
Only the standard library is used: the package must stay importable without scipy.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Sequence
from fractions import Fraction
from typing import NamedTuple

Z95 = 1.959963984540054
"""The two-sided 95% normal quantile, spelled out so results match published tables digit for digit."""

BOOTSTRAP_REPLICATES = 2000
BOOTSTRAP_SEED = 0
"""Fixed, so the same rollouts always give the same interval (a report must not change on reload)."""


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


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts b and c.

    Pairs where both sides agree say nothing about a change, so under "no change" each of the
    b + c discordant pairs goes either way with probability 1/2: p = 2 P(X <= min(b, c)) with
    X ~ Bin(b + c, 1/2), capped at 1. Exact because discordant pairs are few in an evaluation;
    computed in integers so thousands of pairs lose no precision.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n, low = b + c, min(b, c)
    if n == 0:
        return 1.0
    term, tail = 1, 1  # C(n, 0), and the running sum of C(n, k) for k <= low
    for k in range(low):
        term = term * (n - k) // (k + 1)
        tail += term
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    Testing ten modes at 0.05 would call some mode "better" by chance in about two evaluations of
    five; Holm keeps the chance of any false call at alpha without assuming the modes are
    independent, and rejects at least as much as Bonferroni. The k-th smallest p is multiplied by
    (m - k + 1), then made monotone (an adjusted p is never below a smaller raw p's) and capped at 1.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


@functools.lru_cache(maxsize=8)
def _draws(clusters: int, replicates: int, seed: int) -> tuple[tuple[int, ...], ...]:
    """The resampled cluster indices, shared by every rate of one evaluation (same tasks, same draws)."""
    rng = random.Random(seed)
    population = range(clusters)
    return tuple(tuple(rng.choices(population, k=clusters)) for _ in range(replicates))


class ClusterCounts(NamedTuple):
    """One task's paired rollouts: how many pairs, and how many were hits before and after."""

    pairs: int
    before: int
    after: int


def cluster_bootstrap_interval(
    clusters: Sequence[ClusterCounts],
    level: float = 0.95,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval for the paired difference in rates (after - before).

    Rollouts of one task with different seeds are alike (an easy task is easy on both sides), so
    resampling single rollouts would treat them as independent and give too narrow an interval;
    whole tasks are resampled instead, each bringing all its pairs. Each replicate is computed
    from per-task counts, O(tasks), and as after/N - before/N like the point estimate, so a
    resample identical to the data reproduces it exactly. With no pairs nothing is known: (-1, 1).
    """
    if not 0 < level < 1 or replicates < 1:
        raise ValueError(f"need 0 < level < 1 and replicates >= 1, got {level}, {replicates}")
    for cluster in clusters:
        _check_counts(cluster.before, cluster.pairs)
        _check_counts(cluster.after, cluster.pairs)
    kept = [c for c in clusters if c.pairs]
    if not kept:
        return (-1.0, 1.0)
    pairs, before, after = (tuple(column) for column in zip(*kept, strict=True))
    estimates = []
    for draw in _draws(len(kept), replicates, seed):
        n = sum(map(pairs.__getitem__, draw))
        estimates.append(sum(map(after.__getitem__, draw)) / n - sum(map(before.__getitem__, draw)) / n)
    estimates.sort()
    tail = int((1 - level) / 2 * replicates)
    return (estimates[tail], estimates[replicates - 1 - tail])
