"""The agreement report: people with each other (kappa, alpha) and people with the checks.

Built from `Rating`s, one per human decision that is not a skip; storage reads them from the
workspace. Agreement between people uses votes only (adjudications settle disagreements, they
are not independent ratings) of named annotators (decisions stored before names were kept have
annotator "" and may be anyone's). How far each check is trusted uses every vote. The statistics
(numpy) are imported only when a report is built: the labelling queue uses `conflicts` alone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from pydantic import Field

from core.agreement.labels import CATEGORIES, OTHER, PROPOSED
from core.schema import Model


@dataclass(frozen=True)
class Rating:
    """One human decision (not a skip) on a pair, with the flags of both sides."""

    pair_id: int
    task_id: str
    annotator: str
    category: str  # one of CATEGORIES
    proposed_flags: frozenset[str]  # of the side the checks prefer (the pair's chosen side)
    other_flags: frozenset[str]
    adjudicated: bool = False


class PairwiseAgreement(Model):
    annotators: tuple[str, str]
    shared: int  # pairs both decided
    agreed: int  # of those, decided alike
    kappa: float | None  # Cohen's kappa; None where undefined (one category throughout)
    interval: tuple[float, float] | None  # bootstrap over the shared pairs


class OverallAgreement(Model):
    annotators: list[str]  # named annotators with at least one vote on a pair someone else decided
    items: int  # pairs decided by two or more annotators
    alpha: float | None  # nominal Krippendorff's alpha; None where undefined
    interval: tuple[float, float] | None  # bootstrap over those pairs


class Disagreement(Model):
    pair_id: int
    annotator: str
    task_id: str = Field(default="", exclude=True)  # for the screen's queue; not in `--json`


class CheckTrust(Model):
    """How often people chose the side a check prefers, on the pairs where its flag differs."""

    check: str
    decided: int  # decisions that picked a side on such pairs
    agreed: int  # of those, the side without the flag
    precision: float | None  # agreed / decided
    interval: tuple[float, float] | None  # Wilson
    ties: int  # both_good / both_bad decisions on such pairs (not in `decided`)
    disagreements: list[Disagreement] = Field(default_factory=list)  # picked the flagged side


class Conflict(Model):
    """A pair whose annotators disagree and that nobody has adjudicated yet."""

    pair_id: int
    task_id: str
    votes: dict[str, str]  # annotator -> category


class AgreementReport(Model):
    categories: list[str]
    annotators: dict[str, int]  # annotator -> decisions, skips left out ("" = unnamed, older)
    pairwise: list[PairwiseAgreement]
    overall: OverallAgreement
    checks: list[CheckTrust]  # least trusted first
    conflicts: list[Conflict]  # the adjudication queue, by pair id
    confidence: float
    resamples: int
    seed: int


def shown(value: float | None, digits: int = 2) -> str:
    """A statistic as the CLI and the TUI write it: "-" where it is undefined."""
    return "-" if value is None else f"{value:.{digits}f}"


def shown_interval(interval: tuple[float, float] | None, digits: int = 2) -> str:
    return "-" if interval is None else f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def check_trust(ratings: Sequence[Rating], confidence: float = 0.95) -> list[CheckTrust]:
    """Per check, on the decisions of pairs whose sides differ in its flag: how often the side
    without it was chosen. Least trusted (lowest precision) first; checks never put to the test
    last."""
    from core.agreement import stats  # numpy: only where statistics are computed

    decided: Counter[str] = Counter()
    agreed: Counter[str] = Counter()
    ties: Counter[str] = Counter()
    against: defaultdict[str, list[Disagreement]] = defaultdict(list)
    for rating in ratings:
        for check in sorted(rating.proposed_flags ^ rating.other_flags):
            if rating.category not in (PROPOSED, OTHER):
                ties[check] += 1
                continue
            decided[check] += 1
            picked = rating.proposed_flags if rating.category == PROPOSED else rating.other_flags
            if check in picked:
                against[check].append(
                    Disagreement(pair_id=rating.pair_id, annotator=rating.annotator, task_id=rating.task_id)
                )
            else:
                agreed[check] += 1
    table = [
        CheckTrust(
            check=check,
            decided=decided[check],
            agreed=agreed[check],
            precision=agreed[check] / decided[check] if decided[check] else None,
            interval=stats.wilson_interval(agreed[check], decided[check], confidence),
            ties=ties[check],
            disagreements=against[check],
        )
        for check in set(decided) | set(ties)
    ]
    return sorted(table, key=lambda t: (t.precision is None, t.precision or 0.0, -t.decided, t.check))


def conflicts(ratings: Sequence[Rating]) -> list[Conflict]:
    """Pairs whose votes differ and that have no adjudicated decision."""
    votes: defaultdict[int, dict[str, str]] = defaultdict(dict)
    tasks: dict[int, str] = {}
    settled = {r.pair_id for r in ratings if r.adjudicated}
    for rating in ratings:
        if not rating.adjudicated:
            votes[rating.pair_id][rating.annotator] = rating.category
            tasks[rating.pair_id] = rating.task_id
    return [
        Conflict(pair_id=pair_id, task_id=tasks[pair_id], votes=dict(sorted(given.items())))
        for pair_id, given in sorted(votes.items())
        if pair_id not in settled and len(set(given.values())) > 1
    ]


def build_report(
    ratings: Sequence[Rating], resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> AgreementReport:
    from core.agreement import stats  # numpy: the labelling queue imports this module without it

    by_pair: defaultdict[int, dict[str, str]] = defaultdict(dict)
    for rating in ratings:
        if not rating.adjudicated and rating.annotator:
            by_pair[rating.pair_id][rating.annotator] = rating.category
    shared_units = {pair_id: given for pair_id, given in by_pair.items() if len(given) >= 2}
    names = sorted({name for given in shared_units.values() for name in given})
    pairwise = []
    for first, second in combinations(names, 2):
        both = [given for given in shared_units.values() if first in given and second in given]
        if not both:
            continue
        a, b = [g[first] for g in both], [g[second] for g in both]
        pairwise.append(
            PairwiseAgreement(
                annotators=(first, second),
                shared=len(both),
                agreed=sum(x == y for x, y in zip(a, b, strict=True)),
                kappa=stats.cohen_kappa(a, b),
                interval=stats.kappa_interval(a, b, resamples, seed, confidence),
            )
        )
    units = [list(given.values()) for _, given in sorted(shared_units.items())]
    return AgreementReport(
        categories=list(CATEGORIES),
        annotators=dict(sorted(Counter(r.annotator for r in ratings).items())),
        pairwise=pairwise,
        overall=OverallAgreement(
            annotators=names,
            items=len(units),
            alpha=stats.krippendorff_alpha(units),
            interval=stats.alpha_interval(units, resamples, seed, confidence),
        ),
        checks=check_trust([r for r in ratings if not r.adjudicated], confidence),
        conflicts=conflicts(ratings),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )
