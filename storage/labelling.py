"""A labelling session: the queue of undecided pairs, randomised sides, decisions and undo.

The side each rollout is shown on comes from a hash of the pair id, not from which one the
checks prefer, so position never hints at the proposal; it is the same after a restart, so
a resumed session shows each pair as before. Without a writer every decision is committed
before `decide` returns; with one (the TUI) it is handed to a `DecisionWriter` and is pending
until committed, so a held write lock never stalls a key press. Undo removes a decision again,
up to the last `UNDO_DEPTH` decisions.
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


def left_is_chosen(pair_id: int) -> bool:
    return hashlib.blake2b(str(pair_id).encode(), digest_size=1).digest()[0] % 2 == 0


@dataclass
class LabelSession:
    store: Store
    labeler: str = "human"
    history: list[Preference] = field(default_factory=list)  # this session's decisions, newest last
    writer: DecisionWriter | None = None  # None: decide() commits before it returns

    def next_pending(self) -> Pair | None:
        """The first pair nobody decided yet, task by task: where a restart resumes. A pair
        whose decision is still on its way to the database is not offered again."""
        waiting = sorted(self.writer.pending_pairs()) if self.writer else []
        marks = ", ".join("?" * len(waiting))
        row = next(
            self.store.db.query(
                "SELECT * FROM pairs WHERE id NOT IN (SELECT pair_id FROM preferences)"
                + (f" AND id NOT IN ({marks})" if waiting else "")
                + " ORDER BY task_id, id LIMIT 1",
                waiting,
            ),
            None,
        )
        return rows.pair_from_row(row) if row else None

    def show(self, pair: Pair) -> ShownPair:
        chosen, rejected = self.store.rollout(pair.chosen_id), self.store.rollout(pair.rejected_id)
        if chosen is None or rejected is None:
            raise LookupError(f"pair {pair.id}: a rollout is missing from the workspace")
        if left_is_chosen(pair.id or 0):
            return ShownPair(pair, chosen, rejected)
        return ShownPair(pair, rejected, chosen)

    def decide(
        self, shown: ShownPair, decision: str, tags: list[str] | None = None, note: str = ""
    ) -> Preference:
        """`decision`: left, right, both_good, both_bad or skip. Committed before it returns,
        or handed to the writer."""
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
        )
        if self.writer is not None:
            self.writer.record(pref, shown.pair)
        else:
            pref = self.store.record_preference(pref)
        self.history = [*self.history, pref][-UNDO_DEPTH:]
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
        by_task: dict[str, tuple[int, int]] = {}
        rows = self.store.db.execute(
            "SELECT p.task_id, count(*), count(DISTINCT pr.pair_id) FROM pairs p "
            "LEFT JOIN preferences pr ON pr.pair_id = p.id GROUP BY p.task_id ORDER BY p.task_id"
        )
        for task_id, total, decided in rows:
            by_task[task_id] = (decided, total)
        done = sum(d for d, _ in by_task.values())
        pending = self.writer.pending if self.writer else 0
        total = sum(t for _, t in by_task.values())
        return Progress(done=done, remaining=total - done, by_task=by_task, pending=pending)
