"""A labelling session: one annotator's queue of undecided pairs, randomised sides, decisions, undo.

The side each rollout is shown on comes from a hash of the pair id, not from which one the
checks prefer, so position never hints at the proposal; it is the same after a restart, so
a resumed session shows each pair as before. Without a writer every decision is committed
before `decide` returns; with one (the TUI) it is handed to a `DecisionWriter` and is pending
until committed, so a held write lock never stalls a key press. Undo removes a decision again,
up to the last `UNDO_DEPTH` decisions.

A skip is stored (the person saw the pair and passed) but is no decision: the pair comes back
at the end of the queue, after every undecided one, in this session and after a restart. In
blind mode the screen hides what the checks think; each decision records whether it was blind.

Several people label one workspace at once, each in their own process: a session is one
annotator's (`annotator_name`), and its queue, undo and progress are theirs alone. A pair stays
in the pool until `overlap` annotators decided it (for the share `overlap_fraction` of pairs,
picked by a hash of the pair; one annotator for the rest), and nobody is shown a pair they
decided. An automatic decision (`label --auto`) settles a pair for everyone.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from dataclasses import dataclass, field

from core.agreement.labels import overlap_target
from core.schema import Decision, Pair, Preference, PreferenceSource, Rollout
from storage import rows
from storage.agreement import conflicts
from storage.decision_writer import DecisionWriter
from storage.store import Store

UNDO_DEPTH = 10
ANNOTATOR_ENV = "AGENTPREF_ANNOTATOR"
ANNOTATOR_MAX_CHARS = 64


def annotator_name(explicit: str | None = None) -> str:
    """Who is labelling: `explicit` (`--annotator`), else `$AGENTPREF_ANNOTATOR`, else the login
    name, else "anonymous". Unprintable characters are dropped and spaces collapsed: the name is
    shown in terminals and compared between processes."""
    for given in (explicit, os.environ.get(ANNOTATOR_ENV)):
        name = _clean(given or "")
        if name:
            return name
    try:
        login = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no $LOGNAME/$USER and no passwd entry (containers)
        login = ""
    return _clean(login) or "anonymous"


def _clean(name: str) -> str:
    return " ".join("".join(c for c in name if c.isprintable()).split())[:ANNOTATOR_MAX_CHARS]


@dataclass(frozen=True)
class ShownPair:
    pair: Pair
    left: Rollout
    right: Rollout

    @property
    def left_is_chosen(self) -> bool:
        return self.left.id == self.pair.chosen_id


@dataclass
class Progress:
    done: int  # pairs out of this annotator's queue: decided by them, or by as many as it needs
    remaining: int
    by_task: dict[str, tuple[int, int]]  # task -> (decided, total)
    pending: int = 0  # decisions and undos handed to the writer, not yet committed
    skipped: int = 0  # of `remaining`: pairs only skipped so far, back at the end of the queue
    own: int = 0  # decisions this annotator made (skips and adjudications left out)


def left_is_chosen(pair_id: int) -> bool:
    return hashlib.blake2b(str(pair_id).encode(), digest_size=1).digest()[0] % 2 == 0


# Per pair: how many annotators voted on it (skips and adjudications are no votes), and whether
# an automatic decision settled it.
_VOTES = (
    "(SELECT count(*) FROM preferences v WHERE v.pair_id = p.id AND v.source = 'human'"
    " AND v.adjudicated = 0 AND v.decision != 'skip')"
)
_UNSETTLED = (
    "NOT EXISTS (SELECT 1 FROM preferences a WHERE a.pair_id = p.id AND a.source = 'auto'"
    " AND a.decision != 'skip')"
)

# Per task: its pairs, those done for this annotator, and those still open that they skipped. A
# pair is open while no automatic decision settled it, this annotator has not decided it (a skip
# is none) and fewer annotators voted on it than it is offered to.
_PROGRESS = (
    "SELECT task_id, count(*), sum(NOT open), sum(open AND seen) FROM (SELECT p.task_id,"
    " m.pair_id IS NOT NULL AS seen, (a.pair_id IS NULL AND coalesce(m.decision, 'skip') = 'skip'"
    " AND coalesce(v.votes, 0) < {target}) AS open FROM pairs p"
    " LEFT JOIN (SELECT pair_id, count(*) AS votes FROM preferences WHERE source = 'human'"
    " AND adjudicated = 0 AND decision != 'skip' GROUP BY pair_id) v ON v.pair_id = p.id"
    " LEFT JOIN (SELECT DISTINCT pair_id FROM preferences WHERE source = 'auto' AND decision != 'skip')"
    " a ON a.pair_id = p.id"
    " LEFT JOIN preferences m ON m.pair_id = p.id AND m.source = 'human' AND m.annotator = ?"
    " AND m.adjudicated = 0) GROUP BY task_id ORDER BY task_id"
)
_OWN = (
    "SELECT count(*) FROM preferences WHERE source = 'human' AND annotator = ? AND adjudicated = 0"
    " AND decision != 'skip'"
)


@dataclass
class LabelSession:
    store: Store
    labeler: str = "human"
    history: list[Preference] = field(default_factory=list)  # this session's decisions, newest last
    writer: DecisionWriter | None = None  # None: decide() commits before it returns
    blind: bool = False  # scores, the checks' reason and badges hidden; recorded with each decision
    annotator: str = field(default_factory=annotator_name)  # whose queue, decisions and undo
    overlap: int = 1  # [label] overlap: annotators a pair is offered to
    overlap_fraction: float = 1.0  # [label] overlap_fraction: the share of pairs offered to `overlap`
    # progress() counts, and the database's state they were counted at
    _counted: tuple[tuple[object, ...], tuple[dict[str, tuple[int, int]], int, int]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def who(self) -> str:
        """Who is deciding, as the labelling screen's progress line says it."""
        return self.annotator

    def target(self, pair_key: str) -> int:
        """How many annotators' decisions the pair with this key needs."""
        return overlap_target(pair_key, self.overlap, self.overlap_fraction)

    def next_pending(self, after: int | None = None) -> Pair | None:
        """The pair to show next. First those this annotator has not seen, task by task (where a
        restart resumes); when none is left, the ones they skipped, oldest skip first. Only pairs
        that still need a decision: fewer annotators decided them than they are offered to, and
        no automatic decision settled them. A pair whose decision is still on its way to the
        database is not offered again, unless that decision is a skip and nothing else is left.
        `after`: the pair shown now, as if decided (what comes next, to prepare it)."""
        waiting = sorted({*(self.writer.pending_pairs() if self.writer else ()), *([after] if after else [])})
        not_waiting = f" AND p.id NOT IN ({', '.join('?' * len(waiting))})" if waiting else ""
        unseen = (
            f"SELECT p.*, {_VOTES} AS votes FROM pairs p WHERE {_UNSETTLED} AND NOT EXISTS (SELECT 1"
            " FROM preferences m WHERE m.pair_id = p.id AND m.source = 'human' AND m.annotator = ?"
            f" AND m.adjudicated = 0){not_waiting} AND {_VOTES} < ? ORDER BY p.task_id, p.id"
        )
        skipped = (
            f"SELECT p.*, {_VOTES} AS votes FROM pairs p JOIN preferences s ON s.pair_id = p.id"
            " AND s.source = 'human' AND s.annotator = ? AND s.adjudicated = 0 AND s.decision = 'skip'"
            f" WHERE {_UNSETTLED}{not_waiting} AND {_VOTES} < ? ORDER BY s.id"
        )
        most = max(self.overlap, 1)
        for sql in (unseen, skipped):
            for row in self.store.db.query(sql, [self.annotator, *waiting, most]):
                if row["votes"] < self.target(row["pair_key"]):
                    return rows.pair_from_row(row)
        for pref in self.history:  # skips not stored yet: the newest end of the queue
            if pref.decision is Decision.SKIP and pref.pair_id in waiting:
                pair = self.store.pair(pref.pair_id)
                if pair is not None:
                    return pair
        return None

    def next_conflict(self) -> Pair | None:
        """The first pair waiting for adjudication (annotators disagree, nobody adjudicated it),
        leaving out those whose adjudication is still on its way to the database."""
        waiting = self.writer.pending_pairs() if self.writer else set()
        for conflict in conflicts(self.store):
            if conflict.pair_id not in waiting:
                return self.store.pair(conflict.pair_id)
        return None

    def show(self, pair: Pair) -> ShownPair:
        chosen, rejected = self.store.rollout(pair.chosen_id), self.store.rollout(pair.rejected_id)
        if chosen is None or rejected is None:
            raise LookupError(f"pair {pair.id}: a rollout is missing from the workspace")
        if left_is_chosen(pair.id or 0):
            return ShownPair(pair, chosen, rejected)
        return ShownPair(pair, rejected, chosen)

    def decide(
        self,
        shown: ShownPair,
        decision: str,
        tags: list[str] | None = None,
        note: str = "",
        blind: bool | None = None,
        adjudicated: bool = False,
    ) -> Preference:
        """`decision`: left, right, both_good, both_bad or skip. Committed before it returns,
        or handed to the writer. `blind`: whether the pair was shown blind throughout (None:
        the session's mode). `adjudicated`: this decision settles a pair the annotators
        disagreed on (kept beside this annotator's own vote, if any)."""
        chosen = {"left": shown.left.id, "right": shown.right.id}.get(decision)
        kind = Decision.PREFER if chosen else Decision(decision)
        pref = Preference(
            pair_id=shown.pair.id or 0,
            decision=kind,
            chosen_id=chosen,
            source=PreferenceSource.HUMAN,
            labeler=self.labeler,
            tags=tags or [],
            note=note,
            left_id=shown.left.id,
            blind=self.blind if blind is None else blind,
            annotator=self.annotator,
            adjudicated=adjudicated,
        )
        if self.writer is not None:
            self.writer.record(pref, shown.pair)
        else:
            pref = self.store.record_preference(pref)
        # A pair decided again (a skip come back) is in the history once: undo forgets it whole.
        earlier = [p for p in self.history if (p.pair_id, p.adjudicated) != (pref.pair_id, pref.adjudicated)]
        self.history = [*earlier, pref][-UNDO_DEPTH:]
        return pref

    def settled(self, pair_id: int, landed_on: int | None) -> None:
        """The writer is done with a decision on `pair_id`: it landed on `landed_on` (a re-mine
        may have renumbered the pair), or None when it was never stored (undo has nothing)."""
        if landed_on is None:
            self.history = [p for p in self.history if p.pair_id != pair_id]
        elif landed_on != pair_id:
            self.history = [
                p.model_copy(update={"pair_id": landed_on}) if p.pair_id == pair_id else p
                for p in self.history
            ]

    def undo(self) -> Pair | None:
        """Forget the newest decision of this session (this annotator's, nobody else's); the pair
        to show again, or None."""
        if not self.history:
            return None
        last = self.history.pop()
        if self.writer is not None:
            self.writer.remove(last.pair_id, self.annotator, last.adjudicated)
        else:
            with self.store.write():
                self.store.remove_preference(
                    last.pair_id, PreferenceSource.HUMAN, self.annotator, last.adjudicated
                )
        return self.store.pair(last.pair_id)

    def progress(self) -> Progress:
        """This annotator's way through the pool: a pair is done once they decided it (a skip is
        none), or it has all the decisions it needs; skipped ones count as remaining. Counted
        in SQL, and again only once the database changed (a key that decides draws the progress
        twice: as it hands the decision over, and once the decision is stored)."""
        conn = self.store.db.conn
        version: tuple[object, ...] = (self.store.scalar("PRAGMA data_version"), conn.total_changes)
        version += (self.annotator, self.overlap, self.overlap_fraction)
        if self._counted is None or self._counted[0] != version:
            params: list[object] = [self.annotator]
            if self.overlap > 1 and 0 < self.overlap_fraction < 1:  # a pair's target is its hash's
                conn.create_function("agentpref_target", 1, self.target, deterministic=True)
                sql = _PROGRESS.format(target="agentpref_target(p.pair_key)")
            else:  # the same for every pair
                sql, params = _PROGRESS.format(target="?"), [self.target(""), *params]
            by_task: dict[str, tuple[int, int]] = {}
            skipped = 0
            for task_id, total, done, skips in conn.execute(sql, params):
                by_task[task_id] = (done, total)
                skipped += skips
            own = self.store.scalar(_OWN, [self.annotator])
            self._counted = version, (by_task, skipped, own)
        by_task, skipped, own = self._counted[1]
        done = sum(d for d, _ in by_task.values())
        total = sum(t for _, t in by_task.values())
        return Progress(
            done=done,
            remaining=total - done,
            by_task=dict(by_task),
            pending=self.writer.pending if self.writer else 0,
            skipped=skipped,
            own=own,
        )


@dataclass
class AdjudicationSession(LabelSession):
    """One annotator settling a given queue of pairs (conflicts, or the pairs where people
    overruled a check): the labelling screen drives it as it drives a `LabelSession`, with the
    same writer, but every decision is recorded as adjudicated, and undo is this queue's own.

    A pair leaves the queue once someone's adjudication of it is stored (or on its way there).
    An adjudication is a decision, never a skip: a skip here stores nothing and moves the pair
    after the others, for this session only.
    """

    queue: list[int] = field(default_factory=list)  # pair ids, in the order to show them
    skipped: list[int] = field(default_factory=list)  # of the queue, oldest skip first
    _task_of: dict[int, str] | None = field(default=None, init=False, repr=False, compare=False)

    def _tasks(self) -> dict[int, str]:
        """The queue's pairs' tasks, read once: the queue is fixed, the progress drawn per key."""
        if self._task_of is None:
            marks = ", ".join("?" * len(self.queue))
            query = f"SELECT id, task_id FROM pairs WHERE id IN ({marks})"
            self._task_of = dict(self.store.db.execute(query, self.queue)) if self.queue else {}
        return self._task_of

    @property
    def who(self) -> str:
        return f"{self.annotator} adjudicating"

    def _settled(self) -> set[int]:
        if not self.queue:
            return set()
        marks = ", ".join("?" * len(self.queue))
        found = self.store.db.execute(
            f"SELECT DISTINCT pair_id FROM preferences WHERE pair_id IN ({marks}) AND source = 'human'"
            " AND adjudicated = 1 AND decision != 'skip'",
            self.queue,
        )
        waiting = self.writer.pending_pairs() if self.writer else set()
        return {pair_id for (pair_id,) in found} | waiting | {p.pair_id for p in self.history}

    def next_pending(self, after: int | None = None) -> Pair | None:
        """The first pair of the queue nobody adjudicated yet, skipped ones last; `after`: the
        pair shown now, as if decided (what comes next, to prepare it)."""
        settled = self._settled() | ({after} if after else set())
        later = [pair_id for pair_id in self.skipped if pair_id not in settled]
        first = [pair_id for pair_id in self.queue if pair_id not in settled and pair_id not in later]
        for pair_id in [*first, *later]:
            pair = self.store.pair(pair_id)
            if pair is not None:
                return pair
        return None

    def decide(
        self,
        shown: ShownPair,
        decision: str,
        tags: list[str] | None = None,
        note: str = "",
        blind: bool | None = None,
        adjudicated: bool = True,
    ) -> Preference:
        pair_id = shown.pair.id or 0
        self.skipped = [p for p in self.skipped if p != pair_id]
        if decision == Decision.SKIP.value:
            self.skipped.append(pair_id)
            return Preference(pair_id=pair_id, decision=Decision.SKIP, annotator=self.annotator)  # not stored
        return super().decide(shown, decision, tags, note, blind, adjudicated=True)

    def progress(self) -> Progress:
        settled = self._settled() & set(self.queue)
        tasks = self._tasks()
        by_task: dict[str, list[int]] = {}
        for pair_id in dict.fromkeys(self.queue):
            counts = by_task.setdefault(tasks.get(pair_id, ""), [0, 0])
            counts[0] += pair_id in settled
            counts[1] += 1
        total = len(set(self.queue))
        return Progress(
            done=len(settled),
            remaining=total - len(settled),
            by_task={task: (done, of) for task, (done, of) in by_task.items()},
            pending=self.writer.pending if self.writer else 0,
            skipped=len(set(self.skipped) - settled),
            own=len(self.history),
        )
