"""Before/after comparison of two sets of rollout summaries, as a stable JSON-ready dict.

Tuning is judged on rates (how often each behaviour is flagged, how often the tests pass), so each
rate gets its interval and an exact test, and the verdict says "better" or "worse" only when the
change is significant: on a few dozen rollouts most apparent moves are noise. Preference tuning
can also game the checks (stop early, stop running the tests that would expose failures), so those
patterns get explicit warnings even when every flag rate looks better.

The returned dict has exactly these keys: `n`, `modes`, `overall`, `pass_rate`, `means`,
`warnings`. Rates are fractions in [0, 1] and nothing is rounded; an empty side gives rate 0.0,
the interval (0, 1), p = 1.0, and None for its means.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from core.evaluate.stats import Z95, fisher_exact_p, newcombe_interval, wilson_interval

Summary = Mapping[str, Any]
"""One rollout: id, task_id, seed, flags, tests_passed, n_steps, diff_lines, score (lower is better)."""

NEVER_RUN = "tests.never_run"
EARLY_FINISH_DROP = 0.25
"""A fall in mean steps beyond this fraction, without a pass-rate gain, suggests quitting early."""

MEAN_FIELDS = {"steps": "n_steps", "diff_lines": "diff_lines", "score": "score"}


def _count(summaries: Sequence[Summary], hit: Callable[[Summary], bool]) -> int:
    return sum(1 for s in summaries if hit(s))


def _flagged_with(mode: str) -> Callable[[Summary], bool]:
    """A rollout counts once per mode however many times the check fired, so rates stay in [0, 1]."""
    return lambda s: mode in (s.get("flags") or ())


def _any_flag(summary: Summary) -> bool:
    return bool(summary.get("flags"))


def _passed(summary: Summary) -> bool:
    """None means the outcome was never known, which is not a pass."""
    return bool(summary.get("tests_passed"))


def _rate(successes: int, n: int) -> float:
    return successes / n if n else 0.0


def _verdict(diff: float, significant: bool, lower_is_better: bool) -> str:
    if not significant or diff == 0:
        return "unchanged"
    improved = diff < 0 if lower_is_better else diff > 0
    return "better" if improved else "worse"


def _rate_entry(
    before_hits: int, before_n: int, after_hits: int, after_n: int, alpha: float, lower_is_better: bool
) -> dict[str, Any]:
    """One row of the report.

    Intervals are always 95% because that is what the report labels them; `alpha` only decides
    significance, which comes from Fisher's test, not from whether the interval crosses zero.
    """
    before = _rate(before_hits, before_n)
    after = _rate(after_hits, after_n)
    p_value = fisher_exact_p(before_hits, before_n, after_hits, after_n)
    significant = p_value < alpha
    return {
        "before": before,
        "after": after,
        "diff": after - before,
        "ci_before": list(wilson_interval(before_hits, before_n, Z95)),
        "ci_after": list(wilson_interval(after_hits, after_n, Z95)),
        "ci_diff": list(newcombe_interval(before_hits, before_n, after_hits, after_n, Z95)),
        "p_value": p_value,
        "count_before": before_hits,
        "count_after": after_hits,
        "significant": significant,
        "verdict": _verdict(after - before, significant, lower_is_better),
    }


def _flag_entry(
    before: Sequence[Summary], after: Sequence[Summary], hit: Callable[[Summary], bool], alpha: float
) -> dict[str, Any]:
    return _rate_entry(_count(before, hit), len(before), _count(after, hit), len(after), alpha, True)


def _pass_entry(before: Sequence[Summary], after: Sequence[Summary], alpha: float) -> dict[str, Any]:
    """The pass rate's contract has no counts: it is read as a rate, and the counts follow from n."""
    entry = _rate_entry(
        _count(before, _passed), len(before), _count(after, _passed), len(after), alpha, False
    )
    del entry["count_before"], entry["count_after"]
    return entry


def _mean(summaries: Sequence[Summary], field: str) -> float | None:
    """None, not 0, for an empty side: a zero mean would read as a real (and flattering) result."""
    if not summaries:
        return None
    return statistics.fmean(float(s[field]) for s in summaries)


def _means(before: Sequence[Summary], after: Sequence[Summary]) -> dict[str, dict[str, float | None]]:
    means: dict[str, dict[str, float | None]] = {}
    for name, field in MEAN_FIELDS.items():
        b, a = _mean(before, field), _mean(after, field)
        means[name] = {"before": b, "after": a, "diff": None if a is None or b is None else a - b}
    return means


def _change_line(label: str, entry: Mapping[str, Any]) -> str:
    word = "improved" if entry["verdict"] == "better" else "got worse"
    return (
        f"{label} {word} significantly: {entry['before']:.1%} -> {entry['after']:.1%} "
        f"(p = {entry['p_value']:.3g})."
    )


def _change_lines(result: Mapping[str, Any], verdict: str) -> list[str]:
    rows: list[tuple[str, Mapping[str, Any]]] = [
        *((f"{mode} (share of rollouts flagged)", e) for mode, e in result["modes"].items()),
        ("Rollouts with any flag", result["overall"]),
        ("The test pass rate", result["pass_rate"]),
    ]
    # A worse tests.never_run gets its own, plainer line (see _never_run_line), not this one too.
    duplicate = f"{NEVER_RUN} " if verdict == "worse" else None
    return [
        _change_line(label, e)
        for label, e in rows
        if e["verdict"] == verdict and not (duplicate and label.startswith(duplicate))
    ]


def _early_finish_line(means: Mapping[str, Any], pass_rate: Mapping[str, Any]) -> str | None:
    """Fewer steps is only progress if more tasks get solved; otherwise the model may just quit sooner."""
    before, after = means["steps"]["before"], means["steps"]["after"]
    if before is None or after is None or before <= 0 or pass_rate["verdict"] == "better":
        return None
    drop = (before - after) / before
    if drop <= EARLY_FINISH_DROP:
        return None
    return (
        f"Mean steps fell by {drop:.0%} ({before:.1f} -> {after:.1f}) while the pass rate did not rise "
        "significantly: the tuned model may be finishing early to dodge flags."
    )


def _never_run_line(never_run: Mapping[str, Any]) -> str | None:
    """Not running the tests hides failing-test flags, so fewer flags can mean less checking."""
    if never_run["verdict"] != "worse":
        return None
    return (
        f"{NEVER_RUN} rose significantly ({never_run['before']:.1%} -> {never_run['after']:.1%}, "
        f"p = {never_run['p_value']:.3g}): the tuned model stopped running tests, so other flags may "
        "have fallen only because nothing was checked."
    )


def _empty_side_lines(n: Mapping[str, int]) -> list[str]:
    return [f"No {side} rollouts: nothing can be concluded." for side in ("before", "after") if not n[side]]


def _warnings(result: Mapping[str, Any], never_run: Mapping[str, Any]) -> list[str]:
    """Worsenings and gaming first, since they are what a reader must not miss; improvements last."""
    gaming = [_early_finish_line(result["means"], result["pass_rate"]), _never_run_line(never_run)]
    return [
        *_empty_side_lines(result["n"]),
        *_change_lines(result, "worse"),
        *(line for line in gaming if line),
        *_change_lines(result, "better"),
    ]


def compare(
    before: Sequence[Summary], after: Sequence[Summary], modes: Sequence[str], alpha: float = 0.05
) -> dict[str, Any]:
    """Compare rollouts from the base model (`before`) with the tuned one (`after`).

    Every mode in `modes` gets a row even if neither side was ever flagged with it, so the report
    shows that a behaviour was checked and absent rather than silently omitting it.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    result: dict[str, Any] = {
        "n": {"before": len(before), "after": len(after)},
        "modes": {mode: _flag_entry(before, after, _flagged_with(mode), alpha) for mode in modes},
        "overall": _flag_entry(before, after, _any_flag, alpha),
        "pass_rate": _pass_entry(before, after, alpha),
        "means": _means(before, after),
    }
    never_run = result["modes"].get(NEVER_RUN) or _flag_entry(before, after, _flagged_with(NEVER_RUN), alpha)
    result["warnings"] = _warnings(result, never_run)
    return result


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _pp(diff: float) -> str:
    return f"{diff * 100:+.1f} pp"


def _cell(text: str) -> str:
    """A pipe in a custom check id would split the table row."""
    return text.replace("|", "\\|")


def _rate_row(label: str, entry: Mapping[str, Any]) -> str:
    lo, hi = entry["ci_diff"]
    cells = [
        label,
        _pct(entry["before"]),
        _pct(entry["after"]),
        _pp(entry["diff"]),
        f"{lo * 100:+.1f} to {hi * 100:+.1f} pp",
        f"{entry['p_value']:.3g}",
        entry["verdict"],
    ]
    return "| " + " | ".join(cells) + " |"


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def _rates_table(result: Mapping[str, Any]) -> list[str]:
    return [
        "| Mode | Before | After | Diff | 95% CI of diff | p | Verdict |",
        "|---|---:|---:|---:|---|---:|---|",
        *(_rate_row(f"`{_cell(mode)}`", entry) for mode, entry in result["modes"].items()),
        _rate_row("**any flag**", result["overall"]),
        _rate_row("**tests passed**", result["pass_rate"]),
    ]


def _means_table(means: Mapping[str, Mapping[str, float | None]]) -> list[str]:
    return [
        "| Mean | Before | After | Diff |",
        "|---|---:|---:|---:|",
        *(
            f"| {name} | {_number(m['before'])} | {_number(m['after'])} | {_number(m['diff'], True)} |"
            for name, m in means.items()
        ),
    ]


def markdown(result: Mapping[str, Any], title: str = "Before/after evaluation") -> str:
    """Render `compare`'s result as GitHub-flavoured markdown, ready to paste into a PR or README.

    Rates are percentages and differences percentage points, because "+5.0%" would be ambiguous
    between an absolute and a relative change.
    """
    n = result["n"]
    warnings = result["warnings"] or ["None."]
    lines = [
        f"## {title}",
        "",
        f"{n['before']} rollouts before, {n['after']} after. Flag rows: share of rollouts flagged "
        "(lower is better); p from Fisher's exact test, CI by Newcombe's hybrid score method.",
        "",
        *_rates_table(result),
        "",
        "### Means",
        "",
        *_means_table(result["means"]),
        "",
        "### Warnings",
        "",
        *(f"- {line}" for line in warnings),
    ]
    return "\n".join(lines) + "\n"
