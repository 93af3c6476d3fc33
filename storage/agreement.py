"""Agreement of a workspace's annotators, and the queue of pairs they disagree on.

Reads every human decision that is not a skip, with the flags of both sides of its pair, and
hands them to core.agreement. The CLI's `agreement --json` prints `agreement_report(...)`
as it is (`model_dump(mode="json")`); the TUI's disagreement screen shows the same report.
"""

from __future__ import annotations

from core.agreement.labels import LabelPolicy, category
from core.agreement.report import AgreementReport, Conflict, Rating, build_report
from core.agreement.report import conflicts as find_conflicts
from core.schema import Decision
from storage.store import Store

_HUMAN_DECISIONS = (
    "SELECT pr.pair_id, pr.annotator, pr.decision, pr.chosen_id, pr.adjudicated, p.task_id,"
    " p.chosen_id AS proposed_id, p.rejected_id AS other_id FROM preferences pr"
    " JOIN pairs p ON p.id = pr.pair_id"
    " WHERE pr.source = 'human' AND pr.decision != 'skip' ORDER BY pr.pair_id, pr.id"
)


def ratings(store: Store, with_flags: bool = True) -> list[Rating]:
    """Every human decision but skips, as core's ratings (the sides' flags when asked)."""
    found = list(store.db.query(_HUMAN_DECISIONS))
    flags: dict[str, frozenset[str]] = {}
    if with_flags and found:
        for rollout_id, text in store.db.execute(
            "SELECT id, flags FROM rollouts WHERE id IN (SELECT chosen_id FROM pairs"
            " UNION SELECT rejected_id FROM pairs)"
        ):
            flags[rollout_id] = frozenset(text.split())
    return [
        Rating(
            pair_id=row["pair_id"],
            task_id=row["task_id"],
            annotator=row["annotator"],
            category=category(Decision(row["decision"]), row["chosen_id"], row["proposed_id"]) or "",
            proposed_flags=flags.get(row["proposed_id"], frozenset()),
            other_flags=flags.get(row["other_id"], frozenset()),
            adjudicated=bool(row["adjudicated"]),
        )
        for row in found
    ]


def agreement_report(
    store: Store, resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> AgreementReport:
    """Per annotator pair Cohen's kappa, overall Krippendorff's alpha (each with a bootstrap
    interval over pairs, seeded), per check the share of decisions that took its side (Wilson
    interval), and the pairs waiting for adjudication. Under a second for thousands of
    decisions, most of it the bootstrap: call it off the UI thread."""
    return build_report(ratings(store), resamples, seed, confidence)


def conflicts(store: Store) -> list[Conflict]:
    """The adjudication queue: pairs whose annotators' decisions differ and that nobody has
    adjudicated yet, by pair id."""
    return find_conflicts(ratings(store, with_flags=False))


def annotator_counts(store: Store) -> dict[str, int]:
    """Annotator -> human decisions (skips left out; "" = made before names were kept)."""
    return dict(
        store.db.execute(
            "SELECT annotator, count(*) FROM preferences WHERE source = 'human' AND decision != 'skip'"
            " GROUP BY annotator ORDER BY annotator"
        ).fetchall()
    )


def dropped_for_disagreement(store: Store, policy: LabelPolicy) -> list[int]:
    """Pairs `policy` leaves out of training because their annotators disagree."""
    return store.resolved_preferences(policy)[1]
