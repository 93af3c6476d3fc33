"""Which of several people's decisions on a pair stands, and which pairs go to several people.

A pair's human decisions are *votes*, one per annotator (their latest), plus any *adjudicated*
decisions, which settle a pair the annotators disagreed on and are kept beside the votes so
agreement can still be measured. Skips are no decisions and never reach these functions.

Label policies (`[train] label_policy`):
- `latest`: the newest human decision, vote or adjudication; nothing is dropped.
- `majority`: an adjudicated decision settles the pair (the newest, if several); otherwise the
  verdict most annotators gave; a tie without adjudication drops the pair.
- `adjudicated`: an adjudicated decision settles the pair; otherwise only a unanimous verdict
  stands; any disagreement without adjudication drops the pair.
With one annotator all three give that annotator's decision.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from enum import StrEnum

from core.schema import Decision, Preference


class LabelPolicy(StrEnum):
    LATEST = "latest"
    MAJORITY = "majority"
    ADJUDICATED = "adjudicated"


# What a person can say about a pair whose checks prefer one side (`Pair.chosen_id`): that side,
# the other one, or neither. These are the categories agreement is measured on.
PROPOSED, OTHER, BOTH_GOOD, BOTH_BAD = "proposed", "other", "both_good", "both_bad"
CATEGORIES = (PROPOSED, OTHER, BOTH_GOOD, BOTH_BAD)


def category(decision: Decision, chosen_id: str | None, proposed_id: str) -> str | None:
    """The category of one decision on a pair the checks proposed as `proposed_id` over the
    other side; None for a skip (no decision)."""
    if decision is Decision.PREFER:
        return PROPOSED if chosen_id == proposed_id else OTHER
    if decision is Decision.SKIP:
        return None
    return decision.value


def verdict(pref: Preference) -> tuple[str, str | None]:
    """What a decision says, comparable between annotators of the same pair."""
    return pref.decision.value, pref.chosen_id


def _newest(prefs: Sequence[Preference]) -> Preference:
    return max(prefs, key=lambda p: p.id or 0)  # ids grow: a decision made again is a new row


def resolve(decisions: Sequence[Preference], policy: LabelPolicy) -> Preference | None:
    """The decision that stands for one pair under `policy`.

    `decisions`: the pair's human decisions, skips left out, at most one vote (not adjudicated)
    per annotator. None when there is none, or when the policy drops the pair because the
    annotators disagree.
    """
    if not decisions:
        return None
    if policy is LabelPolicy.LATEST:
        return _newest(decisions)
    adjudications = [p for p in decisions if p.adjudicated]
    if adjudications:
        return _newest(adjudications)
    tally = Counter(verdict(p) for p in decisions).most_common()
    if len(tally) > 1 and (policy is LabelPolicy.ADJUDICATED or tally[0][1] == tally[1][1]):
        return None
    return _newest([p for p in decisions if verdict(p) == tally[0][0]])


def disagree(decisions: Sequence[Preference]) -> bool:
    """The votes (adjudications aside) of a pair say different things."""
    return len({verdict(p) for p in decisions if not p.adjudicated}) > 1


def overlap_target(pair_key: str, overlap: int, fraction: float) -> int:
    """How many annotators a pair is offered to: `overlap` for the share `fraction` of pairs,
    chosen by a hash of the pair's key (its two rollouts) so that every process agrees and a
    re-mine does not move a pair in or out; 1 for the rest."""
    if overlap <= 1 or fraction <= 0:
        return 1
    if fraction >= 1:
        return overlap
    digest = hashlib.blake2b(pair_key.encode(), digest_size=8, person=b"agentpref-ovlp").digest()
    return overlap if int.from_bytes(digest, "big") < fraction * 2**64 else 1
