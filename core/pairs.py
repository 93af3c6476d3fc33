"""Mining (chosen, rejected) proposals among scored rollouts of the same task.

DPO learns from one choice in one state, while a flag is a fact about a whole rollout. A pair
teaches the right lesson only when its two sides are in the same state and differ in the
choice that caused the flag. So mining works on the step where each flag's lesson lives (its
*anchor*, see `core.checks.registry.Finding`):

- **branch** pairs: a rollout and a branch of it (the same prefix replayed, then another action),
  or two branches taken at the same step. Their shared prefix is exact, so the lesson is the one
  action that differs. Ranked first.
- **anchored** pairs: two rollouts that share every step up to the anchor of a flag one of them
  has there and the other does not.
- **rollout** pairs (only with `[mining] rollout_pairs = true`): whole rollouts compared by
  score, as harnesses without shared prefixes need; the lesson's step is unknown, so train
  them at trajectory granularity.

Whatever the kind, a pair never prefers a rollout whose final tests fail over one whose tests
pass: the checks never see whether the bug got fixed, and a model can clear every flag by
fixing nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import combinations

from core.config import MiningConfig
from core.prefix import KEY_CHARS, shared_prefix
from core.schema import ActionKind, Pair, PairKind

MAX_ROLLOUTS_CONSIDERED = 64  # per task; a larger group is thinned evenly across its scores

# Absences and outcomes: a side is clean of these only if it never has them, not merely
# not at the anchor (a branch that reads a file instead of finishing untested has not
# learned to test unless it tests later).
WHOLE_ROLLOUT_LESSONS = frozenset(
    {"tests.never_run", "tests.not_rerun", "tests.ignored_failure", "stuck.no_stop"}
)
KIND_ORDER = {PairKind.BRANCH: 0, PairKind.ANCHORED: 1, PairKind.ROLLOUT: 2}

# Whether the chosen side's action at a step answers a lesson the rejected side's action there
# was flagged with (`core.remedies`): a pair teaches a lesson only with its remedy. "Run the
# tests before editing" is taught as running them, not as reading one more file instead.
Answers = Callable[[str, "Scored", "Scored", int], bool]

# Lessons of *when* (which action to take now), against lessons of *what* (the content of an
# action: its path, its size). Training may count only the choice for the first kind
# (`[train] loss_tokens = "lesson"`): the action a lesson of timing rejects is often right
# elsewhere, a right patch among them.
TIMING_LESSONS = frozenset(
    {
        "tests.never_run",
        "tests.not_rerun",
        "tests.ignored_failure",
        "stuck.no_stop",
        "edit.unread",
        "evidence.uncited",
        "loop.repeat",
    }
)

# The lesson of an outcome pair (`_fixed`): not a check, so no flag carries its message.
FIXED = "outcome.fixed"
LESSON_MESSAGES = {FIXED: "did not make the edit that fixed the tests"}

# The kind of action a rollout took at a step (None: no tool call, or unknown).
KindAt = Callable[[str, int], ActionKind | None]


@dataclass(frozen=True)
class Scored:
    """What mining needs of a rollout."""

    id: str
    task_id: str
    score: float
    flags: frozenset[str]
    messages: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    weights: Mapping[str, float] = field(default_factory=dict, compare=False, hash=False)
    anchors: Mapping[str, int | None] = field(default_factory=dict, compare=False, hash=False)
    step_keys: tuple[str, ...] = field(default=(), compare=False, hash=False)
    passed: bool | None = None
    parent_id: str | None = None
    branch_step: int | None = None

    def at(self, step: int) -> frozenset[str]:
        """The flags whose lesson lives at `step`."""
        return frozenset(check for check, anchor in self.anchors.items() if anchor == step)


@dataclass(frozen=True)
class Candidate:
    chosen: Scored
    rejected: Scored
    kind: PairKind = PairKind.ROLLOUT
    step: int | None = None
    taught: frozenset[str] = frozenset()  # anchored kinds: the flags the rejected side has at `step`

    @property
    def gap(self) -> float:
        return self.rejected.score - self.chosen.score

    @property
    def lessons(self) -> frozenset[str]:
        """Flags the pair teaches to avoid."""
        return self.taught if self.kind is not PairKind.ROLLOUT else self.rejected.flags - self.chosen.flags

    @property
    def weight(self) -> float:
        return sum(self.rejected.weights.get(f, 1.0) for f in self.lessons)

    @property
    def rank(self) -> tuple:
        chosen_only = self.chosen.flags - self.rejected.flags
        differing = self.chosen.flags ^ self.rejected.flags
        return (
            KIND_ORDER[self.kind],
            len(chosen_only) if self.kind is PairKind.ROLLOUT else 0,
            -self.weight if self.kind is not PairKind.ROLLOUT else 0,
            len(differing),
            -self.gap,
            self.chosen.id,
            self.rejected.id,
        )


def mine(
    rollouts: list[Scored], cfg: MiningConfig, kind_at: KindAt | None = None, answers: Answers | None = None
) -> list[Pair]:
    """Proposals per task. `kind_at` names the action a rollout took at a step (for the fix);
    `answers` says whether a chosen side answers a lesson (`Answers`); without them there are no
    fix pairs, and a lesson is taught whatever the chosen side did instead."""
    by_task: dict[str, list[Scored]] = defaultdict(list)
    for rollout in rollouts:
        by_task[rollout.task_id].append(rollout)
    pairs: list[Pair] = []
    for task_id in sorted(by_task):
        pairs.extend(mine_task(by_task[task_id], cfg, kind_at, answers))
    return pairs


def mine_task(
    rollouts: list[Scored], cfg: MiningConfig, kind_at: KindAt | None = None, answers: Answers | None = None
) -> list[Pair]:
    group = _thin(sorted(rollouts, key=lambda r: (r.score, r.id)))
    candidates = [c for a, b in combinations(group, 2) if (c := anchored(a, b, kind_at, answers)) is not None]
    if cfg.rollout_pairs:
        taken = {frozenset((c.chosen.id, c.rejected.id)) for c in candidates}
        candidates += [
            c
            for a, b in combinations(group, 2)
            if frozenset((a.id, b.id)) not in taken and (c := whole(a, b, cfg.margin)) is not None
        ]
    candidates.sort(key=lambda c: c.rank)
    return [_to_pair(c) for c in sorted(_select(candidates, cfg, kind_at), key=lambda c: c.rank)]


def anchored(
    a: Scored, b: Scored, kind_at: KindAt | None = None, answers: Answers | None = None
) -> Candidate | None:
    """The pair that teaches what one side did wrong at the step where the two part, if any."""
    if not a.step_keys or not b.step_keys:
        return None
    step = shared_prefix(a.step_keys, b.step_keys)
    if step >= len(a.step_keys) or step >= len(b.step_keys):
        return None  # one side ends where the other goes on: no choice to compare
    half = KEY_CHARS // 2
    if a.step_keys[step][:half] == b.step_keys[step][:half]:
        return None  # the same call seeing different output: the state, not the choice, differs
    at_a, at_b = a.at(step), b.at(step)
    if at_a == at_b:
        return _fixed(a, b, step, kind_at)
    if not (at_a < at_b or at_b < at_a):
        return None  # each side did something there the other did not
    chosen, rejected = (a, b) if at_a < at_b else (b, a)
    taught = frozenset(
        f
        for f in rejected.at(step) - chosen.at(step)
        if f not in WHOLE_ROLLOUT_LESSONS or f not in chosen.flags
    )
    if not taught or _worse_outcome(chosen, rejected):
        return None
    if answers is not None:
        taught = frozenset(f for f in taught if answers(f, chosen, rejected, step))
        if not taught:
            return None
    return Candidate(chosen, rejected, _kind(a, b, step), step, taught)


def _fixed(a: Scored, b: Scored, step: int, kind_at: KindAt | None) -> Candidate | None:
    """Where no flag tells the sides apart, the outcome breaks the tie: the side that edited at
    `step` and whose final tests pass, over one that did something else there and whose tests
    fail. Every other lesson says what not to do; without this one, the demo's pairs taught
    reading instead of editing until the tuned model fixed nothing."""
    if kind_at is None or a.passed is None or b.passed is None or a.passed == b.passed:
        return None
    chosen, rejected = (a, b) if a.passed else (b, a)
    if kind_at(chosen.id, step) is not ActionKind.EDIT or kind_at(rejected.id, step) is ActionKind.EDIT:
        return None  # which patch passes is a question of content the checks judge elsewhere
    return Candidate(chosen, rejected, _kind(a, b, step), step, frozenset({FIXED}))


def whole(a: Scored, b: Scored, margin: float) -> Candidate | None:
    """Whole rollouts by score: the lower-scored side, unless its tests fail where the other's pass."""
    if abs(a.score - b.score) < margin or a.score == b.score:
        return None
    chosen, rejected = (a, b) if a.score < b.score else (b, a)
    if _worse_outcome(chosen, rejected):
        return None
    step = shared_prefix(a.step_keys, b.step_keys) if a.step_keys and b.step_keys else None
    return Candidate(chosen, rejected, PairKind.ROLLOUT, step)


def _worse_outcome(chosen: Scored, rejected: Scored) -> bool:
    return bool(rejected.passed) and not chosen.passed


def _kind(a: Scored, b: Scored, step: int) -> PairKind:
    parent_and_branch = (a.parent_id == b.id and a.branch_step == step) or (
        b.parent_id == a.id and b.branch_step == step
    )
    sibling_branches = (
        a.parent_id is not None and a.parent_id == b.parent_id and a.branch_step == b.branch_step
    )
    return PairKind.BRANCH if parent_and_branch or sibling_branches else PairKind.ANCHORED


def edit_direction(candidate: Candidate, kind_at: KindAt | None) -> int:
    """+1 where the pair prefers an edit to something else at its step ("now"), -1 where it
    prefers a read, a search, a listing or a finish to an edit ("not yet"), else 0. A test run
    chosen over an edit is 0: "run the tests first" never reads as "do not edit"."""
    if kind_at is None or candidate.step is None:
        return 0
    chosen = kind_at(candidate.chosen.id, candidate.step)
    if chosen is ActionKind.TEST:
        return 0
    rejected = kind_at(candidate.rejected.id, candidate.step)
    return int(chosen is ActionKind.EDIT) - int(rejected is ActionKind.EDIT)


def _select(candidates: list[Candidate], cfg: MiningConfig, kind_at: KindAt | None = None) -> list[Candidate]:
    """Lessons in turn (rarest first), each its best-ranked pair left, then the best-ranked of
    the rest, within the caps.

    With `balance_edits`, a task's pairs say "not yet" to an edit no more often than "now"
    (`edit_direction`): a small model learns which action is good, not when, so ten "read
    before editing" pairs and no "edit now" can sum to "never edit" — on the demo's second build
    the tuned model stopped editing and passed 0-5% of held-out tasks; balanced, 27-36%. On the
    first build the same rule let the model edit unread files (README, "The demo's own result").

    A rollout may sit in at most `max_per_rollout` pairs, except as the parent of its own
    branches: each branch is a separate lesson at a separate step.
    """
    uses: dict[str, int] = defaultdict(int)
    picked: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    now_minus_not_yet = 0

    def take(candidate: Candidate) -> bool:
        nonlocal now_minus_not_yet
        key = (candidate.chosen.id, candidate.rejected.id)
        if len(picked) >= cfg.max_per_task or key in seen:
            return False
        counted = _counted_sides(candidate)
        if any(uses[side.id] >= cfg.max_per_rollout for side in counted):
            return False
        direction = edit_direction(candidate, kind_at) if cfg.balance_edits else 0
        if direction < 0 and now_minus_not_yet <= 0:
            return False
        now_minus_not_yet += direction
        picked.append(candidate)
        seen.add(key)
        for side in counted:
            uses[side.id] += 1
        return True

    teaching: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        for flag in candidate.lessons:
            teaching[flag].append(candidate)
    # Round by round, each lesson its next pair: the flag most rollouts have must not take every
    # slot (it did: "read before editing" filled half the demo's pairs, and the tuned model
    # stopped editing).
    queues = {flag: iter(teaching[flag]) for flag in sorted(teaching, key=lambda f: (len(teaching[f]), f))}
    while queues and len(picked) < cfg.max_per_task:
        for flag in list(queues):
            if not any(take(candidate) for candidate in queues[flag]):
                del queues[flag]
    for candidate in candidates:
        if len(picked) >= cfg.max_per_task:
            break
        take(candidate)
    return picked


def _counted_sides(candidate: Candidate) -> list[Scored]:
    if candidate.kind is not PairKind.BRANCH:
        return [candidate.chosen, candidate.rejected]
    return [s for s in (candidate.chosen, candidate.rejected) if s.parent_id is not None]


def _thin(group: list[Scored]) -> list[Scored]:
    if len(group) <= MAX_ROLLOUTS_CONSIDERED:
        return group
    # Branches stay: they were made to be paired with their parents.
    branches = [r for r in group if r.parent_id is not None]
    keep_ids = {r.parent_id for r in branches}
    rest = [r for r in group if r.parent_id is None and r.id not in keep_ids]
    kept = branches + [r for r in group if r.id in keep_ids]
    room = max(MAX_ROLLOUTS_CONSIDERED - len(kept), 2)
    if len(rest) > room:
        step = (len(rest) - 1) / (room - 1)
        rest = [rest[round(i * step)] for i in range(room)]
    return sorted(kept + rest, key=lambda r: (r.score, r.id))


def _to_pair(candidate: Candidate) -> Pair:
    chosen, rejected = candidate.chosen, candidate.rejected
    return Pair(
        task_id=chosen.task_id,
        chosen_id=chosen.id,
        rejected_id=rejected.id,
        score_gap=round(candidate.gap, 6),
        reason=reason(
            chosen, rejected, candidate.lessons if candidate.kind is not PairKind.ROLLOUT else None
        ),
        differing_flags=sorted(chosen.flags ^ rejected.flags),
        kind=candidate.kind,
        step=candidate.step,
    )


def reason(chosen: Scored, rejected: Scored, taught: frozenset[str] | None = None) -> str:
    """'B ran no tests and edited README.md; A looped on pytest' — A is chosen, B rejected.

    For an anchored pair only the lessons at its step count: what either side did later is not
    what the pair teaches.
    """
    if taught is not None:
        return "B " + _join([rejected.messages.get(f, LESSON_MESSAGES.get(f, f)) for f in sorted(taught)])
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


SIDE_RE = re.compile(r"(^|; |: | where )([AB]) ")


def name_sides(reason: str, chosen: str, rejected: str) -> str:
    """A reason with its side markers (A chosen, B rejected) replaced by what a screen calls them."""
    names = {"A": chosen, "B": rejected}
    return SIDE_RE.sub(lambda m: f"{m.group(1)}{names[m.group(2)]} ", reason)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
