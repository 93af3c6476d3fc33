"""Mining (chosen, rejected) proposals among scored rollouts of the same task.

A good proposal teaches one clear lesson: the rejected side has a violation the chosen side
does not, and the two differ in little else. Mining therefore ranks candidate pairs by how
few flags the chosen side has that the rejected one lacks, then by how few flags differ
overall, and first makes sure every flag type is taught at least once per task before
filling the remaining slots.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from core.config import MiningConfig
from core.schema import Pair

MAX_ROLLOUTS_CONSIDERED = 64  # per task; a larger group is thinned evenly across its scores


@dataclass(frozen=True)
class Scored:
    """What mining needs of a rollout."""

    id: str
    task_id: str
    score: float
    flags: frozenset[str]
    messages: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Candidate:
    chosen: Scored
    rejected: Scored

    @property
    def gap(self) -> float:
        return self.rejected.score - self.chosen.score

    @property
    def lessons(self) -> frozenset[str]:
        """Flags the rejected side has and the chosen side does not."""
        return self.rejected.flags - self.chosen.flags

    @property
    def rank(self) -> tuple:
        chosen_only = self.chosen.flags - self.rejected.flags
        differing = self.chosen.flags ^ self.rejected.flags
        return (len(chosen_only), len(differing), -self.gap, self.chosen.id, self.rejected.id)


def mine(rollouts: list[Scored], cfg: MiningConfig) -> list[Pair]:
    by_task: dict[str, list[Scored]] = defaultdict(list)
    for rollout in rollouts:
        by_task[rollout.task_id].append(rollout)
    pairs: list[Pair] = []
    for task_id in sorted(by_task):
        pairs.extend(mine_task(by_task[task_id], cfg))
    return pairs


def mine_task(rollouts: list[Scored], cfg: MiningConfig) -> list[Pair]:
    group = _thin(sorted(rollouts, key=lambda r: (r.score, r.id)))
    candidates = [
        Candidate(chosen=a, rejected=b) if a.score < b.score else Candidate(chosen=b, rejected=a)
        for a, b in combinations(group, 2)
        if abs(a.score - b.score) >= cfg.margin and a.score != b.score
    ]
    candidates.sort(key=lambda c: c.rank)
    uses: dict[str, int] = defaultdict(int)
    picked: list[Candidate] = []

    def take(candidate: Candidate) -> bool:
        if len(picked) >= cfg.max_per_task or candidate in picked:
            return False
        if (
            uses[candidate.chosen.id] >= cfg.max_per_rollout
            or uses[candidate.rejected.id] >= cfg.max_per_rollout
        ):
            return False
        picked.append(candidate)
        uses[candidate.chosen.id] += 1
        uses[candidate.rejected.id] += 1
        return True

    teaching: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        for flag in candidate.lessons:
            teaching[flag].append(candidate)
    # Rarest lessons first, so a flag seen in one pair is not crowded out by common ones.
    for flag in sorted(teaching, key=lambda f: (len(teaching[f]), f)):
        for candidate in teaching[flag]:
            if take(candidate):
                break
    for candidate in candidates:
        if len(picked) >= cfg.max_per_task:
            break
        take(candidate)
    return [_to_pair(c) for c in sorted(picked, key=lambda c: c.rank)]


def _thin(group: list[Scored]) -> list[Scored]:
    if len(group) <= MAX_ROLLOUTS_CONSIDERED:
        return group
    step = (len(group) - 1) / (MAX_ROLLOUTS_CONSIDERED - 1)
    return [group[round(i * step)] for i in range(MAX_ROLLOUTS_CONSIDERED)]


def _to_pair(candidate: Candidate) -> Pair:
    chosen, rejected = candidate.chosen, candidate.rejected
    return Pair(
        task_id=chosen.task_id,
        chosen_id=chosen.id,
        rejected_id=rejected.id,
        score_gap=round(candidate.gap, 6),
        reason=reason(chosen, rejected),
        differing_flags=sorted(chosen.flags ^ rejected.flags),
    )


def reason(chosen: Scored, rejected: Scored) -> str:
    """'B ran no tests and edited README.md; A looped on pytest' — A is chosen, B rejected."""
    parts = []
    lessons = sorted(rejected.flags - chosen.flags)
    if lessons:
        parts.append("B " + _join([rejected.messages.get(f, f) for f in lessons]))
    costs = sorted(chosen.flags - rejected.flags)
    if costs:
        parts.append("A " + _join([chosen.messages.get(f, f) for f in costs]))
    if not parts:
        parts.append("B has the same flag types but weighs more")
    return "; ".join(parts)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
