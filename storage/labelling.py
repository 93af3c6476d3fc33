"""A labelling session: the queue of undecided pairs, randomised sides, decisions and undo.

The side each rollout is shown on comes from a hash of the pair id, not from which one the
checks prefer, so position never hints at the proposal; it is the same after a restart, so
a resumed session shows each pair as before. Without a writer every decision is committed
before `decide` returns; with one (the TUI) it is handed to a `DecisionWriter` and is pending
until committed, so a held write lock never stalls a key press. Undo removes a decision again,
up to the last `UNDO_DEPTH` decisions.

A skip is stored (the person saw the pair and passed) but is no decision: the pair comes back
at the end of the queue, after every undecided one, in this session and after a restart. In
blind mode the screen hides what the checks think; each decision records whether it was blind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from core.schema import Decision, Pair, Preference, PreferenceSource, Rollout
from storage import rows
from storage.decision_writer import DecisionWriter
from storage.store import Store

UNDO_DEPTH = 10


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
    done: int
    remaining: int
    by_task: dict[str, tuple[int, int]]  # task -> (decided, total)
    pending: int = 0  # decisions and undos handed to the writer, not yet committed
    skipped: int = 0  # of `remaining`: pairs only skipped so far, back at the end of the queue


def left_is_chosen(pair_id: int) -> bool:
    return hashlib.blake2b(str(pair_id).encode(), digest_size=1).digest()[0] % 2 == 0


@dataclass
class LabelSession:
    store: Store
    labeler: str = "human"
    history: list[Preference] = field(default_factory=list)  # this session's decisions, newest last
    writer: DecisionWriter | None = None  # None: decide() commits before it returns
    blind: bool = False  # scores, the checks' reason and badges hidden; recorded with each decision

    def next_pending(self) -> Pair | None:
        """The pair to show next. First the undecided ones, task by task (where a restart
        resumes); when none is left, the skipped ones, oldest skip first. A pair whose decision
        is still on its way to the database is not offered again, unless that decision is a
        skip and nothing else is left."""
        waiting = sorted(self.writer.pending_pairs()) if self.writer else []
        not_waiting = f" AND p.id NOT IN ({', '.join('?' * len(waiting))})" if waiting else ""
        for sql in (
            "SELECT p.* FROM pairs p WHERE p.id NOT IN (SELECT pair_id FROM preferences)"
            + not_waiting
            + " ORDER BY p.task_id, p.id LIMIT 1",
            "SELECT p.* FROM pairs p JOIN preferences s"
            " ON s.pair_id = p.id AND s.source = 'human' AND s.decision = 'skip'"
            " WHERE NOT EXISTS (SELECT 1 FROM preferences d WHERE d.pair_id = p.id AND d.decision != 'skip')"
            + not_waiting
            + " ORDER BY s.id LIMIT 1",
        ):
            row = next(self.store.db.query(sql, waiting), None)
            if row is not None:
                return rows.pair_from_row(row)
        for pref in self.history:  # skips not stored yet: the newest end of the queue
            if pref.decision is Decision.SKIP and pref.pair_id in waiting:
                pair = self.store.pair(pref.pair_id)
                if pair is not None:
                    return pair
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
    ) -> Preference:
        """`decision`: left, right, both_good, both_bad or skip. Committed before it returns,
        or handed to the writer. `blind`: whether the pair was shown blind throughout (None:
        the session's mode)."""
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
        )
        if self.writer is not None:
            self.writer.record(pref, shown.pair)
        else:
            pref = self.store.record_preference(pref)
        # A pair decided again (a skip come back) is in the history once: undo forgets it whole.
        earlier = [p for p in self.history if p.pair_id != pref.pair_id]
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
        """Forget the newest decision of this session; the pair to show again, or None."""
        if not self.history:
            return None
        last = self.history.pop()
        if self.writer is not None:
            self.writer.remove(last.pair_id)
        else:
            with self.store.write():
                self.store.remove_preference(last.pair_id, PreferenceSource.HUMAN)
        return self.store.pair(last.pair_id)

    def progress(self) -> Progress:
        """Decided pairs (a skip is none) of each task; skipped ones count as remaining."""
        db = self.store.db
        totals = db.execute("SELECT task_id, count(*) FROM pairs GROUP BY task_id ORDER BY task_id")
        decided = dict(
            db.execute(
                "SELECT p.task_id, count(DISTINCT pr.pair_id) FROM preferences pr"
                " JOIN pairs p ON p.id = pr.pair_id WHERE pr.decision != 'skip' GROUP BY p.task_id"
            ).fetchall()
        )
        by_task = {task_id: (decided.get(task_id, 0), total) for task_id, total in totals}
        skipped = db.execute(
            "SELECT count(*) FROM preferences s WHERE s.source = 'human' AND s.decision = 'skip' AND"
            " NOT EXISTS (SELECT 1 FROM preferences d WHERE d.pair_id = s.pair_id AND d.decision != 'skip')"
        ).fetchone()[0]
        done = sum(d for d, _ in by_task.values())
        pending = self.writer.pending if self.writer else 0
        total = sum(t for _, t in by_task.values())
        return Progress(done=done, remaining=total - done, by_task=by_task, pending=pending, skipped=skipped)
