"""Before/after comparison of two sets of rollout summaries, as a typed, stable JSON document.

Tuning is judged on rates (how often each behaviour is flagged, how often the tests pass), so each
rate gets its interval and an exact test, and the verdict says "better" or "worse" only when the
change is significant: on a few dozen rollouts most apparent moves are noise. Preference tuning
can also game the checks (stop early, stop running the tests that would expose failures), so those
patterns get explicit warnings even when every flag rate looks better.

Both sides run the same tasks with the same seeds (common random numbers), so rollouts are paired
on (task_id, seed) and the test is McNemar's exact test on the pairs that disagree, which sees a
change that an independent-samples test would lose in the task-to-task noise. The interval of the
difference is a bootstrap over tasks, because seeds of one task are correlated. Every mode is
tested at once, so the modes' p-values are Holm-adjusted and verdicts use the adjusted p; `overall`
and the pass rates are single tests and their `p_value_adjusted` is their own p. A rollout whose
(task, seed) is missing on the other side is left out of tests and intervals (and warned about),
but still counted in the rates, counts, Wilson intervals and means of its side.

The result is a `Comparison` (core.evaluate.result) whose JSON has exactly these keys: `n`, `n_pairs`,
`modes`, `overall`, `pass_rate`, `means`, `warnings`, and `pass_rate_own_tests` when any summary
knows `tests_passed_own`. Rates are
fractions in [0, 1] and nothing is rounded; an empty side gives rate 0.0, the interval (0, 1),
p = 1.0, and None for its means; no pairs give the difference interval (-1, 1).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import NamedTuple

from core.evaluate.result import Comparison, MeanChange, Means, RateChange, RolloutSummary, SideCounts
from core.evaluate.stats import (
    Z95,
    ClusterCounts,
    cluster_bootstrap_interval,
    holm_adjust,
    mcnemar_exact_p,
    wilson_interval,
)

Summary = RolloutSummary
Pair = tuple[Summary, Summary]
Hit = Callable[[Summary], bool]

NEVER_RUN = "tests.never_run"
EARLY_FINISH_DROP = 0.25
"""A fall in mean steps beyond this fraction, without a pass-rate gain, suggests quitting early."""

MEAN_FIELDS = {"steps": "n_steps", "diff_lines": "diff_lines", "score": "score"}

MODE_METHOD = "mcnemar-exact+holm; task-bootstrap-95"
SINGLE_METHOD = "mcnemar-exact; task-bootstrap-95"


def _count(summaries: Sequence[Summary], hit: Hit) -> int:
    return sum(1 for s in summaries if hit(s))


def _flagged_with(mode: str) -> Hit:
    """A rollout counts once per mode however many times the check fired, so rates stay in [0, 1]."""
    return lambda s: mode in (s.flags or ())


def _any_flag(summary: Summary) -> bool:
    return bool(summary.flags)


def _passed(summary: Summary) -> bool:
    """None means the outcome was never known, which is not a pass."""
    return bool(summary.tests_passed)


def _passed_own(summary: Summary) -> bool:
    """The tests as the agent left them; None (not recorded) is not a pass."""
    return bool(summary.tests_passed_own)


def _rate(successes: int, n: int) -> float:
    return successes / n if n else 0.0


def _key(summary: Summary) -> tuple[Hashable, Hashable] | None:
    """Without a seed a rollout has no counterpart drawn with the same randomness, so no key."""
    return None if summary.seed is None else (summary.task_id, summary.seed)


def pair_up(before: Sequence[Summary], after: Sequence[Summary]) -> list[Pair]:
    """Match rollouts on (task_id, seed); a key repeated on a side pairs in order, leftovers are dropped."""
    waiting: dict[tuple[Hashable, Hashable], list[Summary]] = defaultdict(list)
    for summary in after:
        key = _key(summary)
        if key is not None:
            waiting[key].append(summary)
    pairs = []
    for summary in before:
        key = _key(summary)
        partners = waiting.get(key) if key is not None else None
        if partners:
            pairs.append((summary, partners.pop(0)))
    return pairs


def _clusters(pairs: Sequence[Pair], hit: Hit) -> list[ClusterCounts]:
    counts: dict[Hashable, list[int]] = {}
    for b, a in pairs:
        tally = counts.setdefault(b.task_id, [0, 0, 0])
        tally[0] += 1
        tally[1] += hit(b)
        tally[2] += hit(a)
    return [ClusterCounts(*tally) for tally in counts.values()]


def _verdict(direction: int, significant: bool, lower_is_better: bool) -> str:
    """`direction` is c - b, the sign of the paired change, so the verdict agrees with the test."""
    if not significant or direction == 0:
        return "unchanged"
    improved = direction < 0 if lower_is_better else direction > 0
    return "better" if improved else "worse"


class _Tally(NamedTuple):
    """One rate's counts and paired test, before it is judged (see `_judge`)."""

    hits: tuple[int, int]  # rollouts hit, before and after
    n: tuple[int, int]
    discordant: tuple[int, int]  # [b, c]: pairs hit only before, and only after
    ci_diff: tuple[float, float]
    p_value: float


def _tally(before: Sequence[Summary], after: Sequence[Summary], pairs: Sequence[Pair], hit: Hit) -> _Tally:
    """Intervals are always 95% because that is what the report labels them; significance comes
    from the paired test, not from whether the interval crosses zero."""
    b = sum(1 for x, y in pairs if hit(x) and not hit(y))
    c = sum(1 for x, y in pairs if hit(y) and not hit(x))
    return _Tally(
        hits=(_count(before, hit), _count(after, hit)),
        n=(len(before), len(after)),
        discordant=(b, c),
        ci_diff=cluster_bootstrap_interval(_clusters(pairs, hit)),
        p_value=mcnemar_exact_p(b, c),
    )


def _judge(
    tally: _Tally,
    p_adjusted: float,
    alpha: float,
    lower_is_better: bool,
    method: str,
    counts: bool = True,
) -> RateChange:
    """One row of the report. The pass rate's contract has no counts (`counts=False`): it is read
    as a rate, and the counts follow from n."""
    (before_hits, after_hits), (n_before, n_after) = tally.hits, tally.n
    b, c = tally.discordant
    significant = p_adjusted < alpha
    before, after = _rate(before_hits, n_before), _rate(after_hits, n_after)
    return RateChange(
        before=before,
        after=after,
        diff=after - before,
        ci_before=wilson_interval(before_hits, n_before, Z95),
        ci_after=wilson_interval(after_hits, n_after, Z95),
        ci_diff=tally.ci_diff,
        p_value=tally.p_value,
        **({"count_before": before_hits, "count_after": after_hits} if counts else {}),
        discordant=tally.discordant,
        p_value_adjusted=p_adjusted,
        significant=significant,
        verdict=_verdict(c - b, significant, lower_is_better),
        method=method,
    )


def _single(
    before: Sequence[Summary],
    after: Sequence[Summary],
    pairs: Sequence[Pair],
    hit: Hit,
    alpha: float,
    lower_is_better: bool = True,
    counts: bool = True,
) -> RateChange:
    """A rate tested on its own, outside the family of modes: its adjusted p is its own p."""
    tally = _tally(before, after, pairs, hit)
    return _judge(tally, tally.p_value, alpha, lower_is_better, SINGLE_METHOD, counts)


def _modes(
    before: Sequence[Summary],
    after: Sequence[Summary],
    pairs: Sequence[Pair],
    modes: Sequence[str],
    alpha: float,
) -> dict[str, RateChange]:
    """Every mode is one test of one family, so their p-values are Holm-adjusted together."""
    tallies = {mode: _tally(before, after, pairs, _flagged_with(mode)) for mode in modes}
    adjusted = holm_adjust([t.p_value for t in tallies.values()])
    return {
        mode: _judge(tally, p, alpha, True, MODE_METHOD)
        for (mode, tally), p in zip(tallies.items(), adjusted, strict=True)
    }


def _pass_entry(
    before: Sequence[Summary], after: Sequence[Summary], pairs: Sequence[Pair], hit: Hit, alpha: float
) -> RateChange:
    return _single(before, after, pairs, hit, alpha, lower_is_better=False, counts=False)


def adjusted_p(entry: RateChange) -> float:
    """The p the verdict used; results stored before Holm adjustment existed only have `p_value`."""
    return entry.p_value if entry.p_value_adjusted is None else entry.p_value_adjusted


def _mean(summaries: Sequence[Summary], field: str) -> float | None:
    """None, not 0, for an empty side: a zero mean would read as a real (and flattering) result."""
    if not summaries:
        return None
    return statistics.fmean(float(getattr(s, field)) for s in summaries)


def _mean_change(before: Sequence[Summary], after: Sequence[Summary], field: str) -> MeanChange:
    b, a = _mean(before, field), _mean(after, field)
    return MeanChange(before=b, after=a, diff=None if a is None or b is None else a - b)


def _means(before: Sequence[Summary], after: Sequence[Summary]) -> Means:
    return Means(**{name: _mean_change(before, after, field) for name, field in MEAN_FIELDS.items()})


def _p_text(entry: RateChange) -> str:
    """Name the correction where there was one, so a reader knows which p decided."""
    holm = "holm" in (entry.method or "")
    return f"{'Holm-adjusted p' if holm else 'p'} = {adjusted_p(entry):.3g}"


def _change_line(label: str, entry: RateChange) -> str:
    word = "improved" if entry.verdict == "better" else "got worse"
    return f"{label} {word} significantly: {entry.before:.1%} -> {entry.after:.1%} ({_p_text(entry)})."


def _change_lines(result: Comparison, verdict: str) -> list[str]:
    rows: list[tuple[str, RateChange]] = [
        *((f"{mode} (share of rollouts flagged)", e) for mode, e in result.modes.items()),
        ("Rollouts with any flag", result.overall),
        ("The test pass rate", result.pass_rate),
    ]
    if result.pass_rate_own_tests is not None:
        rows.append(("The pass rate on the tests as the agent left them", result.pass_rate_own_tests))
    # A worse tests.never_run gets its own, plainer line (see _never_run_line), not this one too.
    duplicate = f"{NEVER_RUN} " if verdict == "worse" else None
    return [
        _change_line(label, e)
        for label, e in rows
        if e.verdict == verdict and not (duplicate and label.startswith(duplicate))
    ]


def _early_finish_line(means: Means, pass_rate: RateChange) -> str | None:
    """Fewer steps is only progress if more tasks get solved; otherwise the model may just quit sooner."""
    before, after = means.steps.before, means.steps.after
    if before is None or after is None or before <= 0 or pass_rate.verdict == "better":
        return None
    drop = (before - after) / before
    if drop <= EARLY_FINISH_DROP:
        return None
    return (
        f"Mean steps fell by {drop:.0%} ({before:.1f} -> {after:.1f}) while the pass rate did not rise "
        "significantly: the tuned model may be finishing early to dodge flags."
    )


def _never_run_line(never_run: RateChange) -> str | None:
    """Not running the tests hides failing-test flags, so fewer flags can mean less checking."""
    if never_run.verdict != "worse":
        return None
    return (
        f"{NEVER_RUN} rose significantly ({never_run.before:.1%} -> {never_run.after:.1%}, "
        f"{_p_text(never_run)}): the tuned model stopped running tests, so other flags may "
        "have fallen only because nothing was checked."
    )


def _empty_side_lines(n: SideCounts) -> list[str]:
    return [
        f"No {side} rollouts: nothing can be concluded."
        for side in ("before", "after")
        if not getattr(n, side)
    ]


def _unpaired_lines(n: SideCounts, n_pairs: int) -> list[str]:
    """Unpaired rollouts still count in the rates, so say why the tests may seem to disagree with them."""
    left_out = n.before + n.after - 2 * n_pairs
    if not left_out or not (n.before and n.after):
        return []
    if not n_pairs:
        return [
            "No rollout has a counterpart with the same task and seed on the other side: nothing was tested."
        ]
    have = "rollout has" if left_out == 1 else "rollouts have"
    return [
        f"{left_out} {have} no counterpart with the same task and seed on the other side: "
        f"tests and intervals of differences use only the {n_pairs} pairs."
    ]


def _warnings(result: Comparison, n_pairs: int, never_run: RateChange) -> list[str]:
    """Worsenings and gaming first, since they are what a reader must not miss; improvements last."""
    gaming = [_early_finish_line(result.means, result.pass_rate), _never_run_line(never_run)]
    return [
        *_empty_side_lines(result.n),
        *_unpaired_lines(result.n, n_pairs),
        *_change_lines(result, "worse"),
        *(line for line in gaming if line),
        *_change_lines(result, "better"),
    ]


def compare(
    before: Sequence[Summary], after: Sequence[Summary], modes: Sequence[str], alpha: float = 0.05
) -> Comparison:
    """Compare rollouts from the base model (`before`) with the tuned one (`after`).

    Every mode in `modes` gets a row even if neither side was ever flagged with it, so the report
    shows that a behaviour was checked and absent rather than silently omitting it. The pass rate
    on the agent's own tests appears only when some rollout recorded it: a column of unknowns
    would read as a 0% pass rate.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    pairs = pair_up(before, after)
    own = any(s.tests_passed_own is not None for s in (*before, *after))
    result = Comparison(
        n=SideCounts(before=len(before), after=len(after)),
        n_pairs=len(pairs),
        modes=_modes(before, after, pairs, modes, alpha),
        overall=_single(before, after, pairs, _any_flag, alpha),
        pass_rate=_pass_entry(before, after, pairs, _passed, alpha),
        **({"pass_rate_own_tests": _pass_entry(before, after, pairs, _passed_own, alpha)} if own else {}),
        means=_means(before, after),
        warnings=[],
    )
    never_run = result.modes.get(NEVER_RUN) or _single(before, after, pairs, _flagged_with(NEVER_RUN), alpha)
    result.warnings = _warnings(result, len(pairs), never_run)
    return result


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _pp(diff: float) -> str:
    return f"{diff * 100:+.1f} pp"


def _cell(text: str) -> str:
    """A pipe in a custom check id would split the table row."""
    return text.replace("|", "\\|")


def _rate_row(label: str, entry: RateChange) -> str:
    lo, hi = entry.ci_diff
    cells = [
        label,
        _pct(entry.before),
        _pct(entry.after),
        _pp(entry.diff),
        f"{lo * 100:+.1f} to {hi * 100:+.1f} pp",
        f"{adjusted_p(entry):.3g}",
        entry.verdict,
    ]
    return "| " + " | ".join(cells) + " |"


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def _rates_table(result: Comparison) -> list[str]:
    own = result.pass_rate_own_tests
    return [
        "| Mode | Before | After | Diff | 95% CI of diff | p (Holm) | Verdict |",
        "|---|---:|---:|---:|---|---:|---|",
        *(_rate_row(f"`{_cell(mode)}`", entry) for mode, entry in result.modes.items()),
        _rate_row("**any flag**", result.overall),
        _rate_row("**tests passed**", result.pass_rate),
        *([_rate_row("**own tests passed**", own)] if own else []),
    ]


def _means_table(means: Means) -> list[str]:
    return [
        "| Mean | Before | After | Diff |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {_number(m.before)} | {_number(m.after)} | {_number(m.diff, True)} |"
            for name, m in (("steps", means.steps), ("diff_lines", means.diff_lines), ("score", means.score))
        ),
    ]


def markdown(result: Comparison, title: str = "Before/after evaluation") -> str:
    """Render `compare`'s result as GitHub-flavoured markdown, ready to paste into a PR or README.

    Rates are percentages and differences percentage points, because "+5.0%" would be ambiguous
    between an absolute and a relative change.
    """
    n = result.n
    pairs = f" ({result.n_pairs} paired on task and seed)" if result.n_pairs is not None else ""
    warnings = result.warnings or ["None."]
    lines = [
        f"## {title}",
        "",
        f"{n.before} rollouts before, {n.after} after{pairs}. Flag rows: share of rollouts "
        "flagged (lower is better). p from McNemar's exact test on the pairs, Holm-adjusted over the "
        "modes (the any-flag and pass-rate rows are single tests, unadjusted); CI of the difference "
        "by a bootstrap over tasks.",
        "",
        *_rates_table(result),
        "",
        "### Means",
        "",
        *_means_table(result.means),
        "",
        "### Warnings",
        "",
        *(f"- {line}" for line in warnings),
    ]
    return "\n".join(lines) + "\n"
