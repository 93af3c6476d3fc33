"""Human decisions committed off the caller's thread, in order, retried until they are stored.

The labelling screen must answer a key at once even while an import or a training run holds
the database's write lock. A decision handed to the writer is *pending* until its transaction
commits; a lock is contention, not failure, so the writer waits a moment and tries again for
as long as it takes. Only a permanent refusal (a new `mine` removed the pair, the workspace is
read-only) ends a decision unstored, and the caller hears why. A decision whose pair a new
`mine` removed or renumbered meanwhile is kept: it goes to the pair of the same two rollouts,
stored again if need be (the outcome names the id it landed on). Decisions and undos keep
their order: an undo of a pending decision runs after it. A decision and its undo are one
annotator's: several people's writers on one database never replace each other's decisions.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.schema import Pair, Preference, PreferenceSource
from storage.store import Store

RETRY_S = 0.2  # pause after a failed try: the lock holder commits, then we get in
TRY_LOCK_S = 0.5  # how long one try waits for the lock before the writer reports and retries


@dataclass(frozen=True)
class Removal:
    """An undo: one annotator's decision (a vote, or an adjudication) on a pair, and no one else's."""

    pair_id: int
    annotator: str = ""
    adjudicated: bool = False


@dataclass(frozen=True)
class Outcome:
    """What became of one submitted decision or undo."""

    ticket: int
    pair_id: int  # where it landed: a re-mine may have renumbered the pair
    stored: bool  # committed (an undo: the decision is gone)
    error: str = ""  # why it never will be, when not stored
    waited: bool = False  # it met a held lock at least once before this outcome
    submitted_pair_id: int = 0  # the pair id it was submitted with (0: the same as pair_id)


class DecisionWriter:
    """One thread, one connection; `record`/`remove` return at once with a ticket."""

    def __init__(self, db_path: Path, on_outcome: Callable[[Outcome], None] | None = None) -> None:
        self.db_path = Path(db_path)
        self.on_outcome = on_outcome
        self._jobs: queue.Queue[tuple[int, Preference | Removal, Pair | None] | None] = queue.Queue()
        self._pending: dict[int, int] = {}  # ticket -> pair id
        self._guard = threading.Lock()
        self._tickets = 0
        self.retries = 0  # tries that met the lock (for status lines and tests)
        self._thread = threading.Thread(target=self._run, name="decision-writer", daemon=True)
        self._thread.start()

    # -- the caller's side ------------------------------------------------------------------
    def record(self, pref: Preference, pair: Pair | None = None) -> int:
        """`pair`, the pair as it was shown, lets the decision outlive a re-mine that drops it."""
        return self._submit(pref, pref.pair_id, pair)

    def remove(self, pair_id: int, annotator: str = "", adjudicated: bool = False) -> int:
        """Forget `annotator`'s decision on the pair (their adjudication, when `adjudicated`)."""
        return self._submit(Removal(pair_id, annotator, adjudicated), pair_id, None)

    def pending_pairs(self) -> set[int]:
        """Pairs with a decision or undo not yet committed."""
        with self._guard:
            return set(self._pending.values())

    @property
    def pending(self) -> int:
        with self._guard:
            return len(self._pending)

    def close(self, timeout_s: float | None = None) -> bool:
        """Store what is pending, then stop; False when `timeout_s` ran out first."""
        self._jobs.put(None)
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _submit(self, payload: Preference | Removal, pair_id: int, pair: Pair | None) -> int:
        with self._guard:
            self._tickets += 1
            ticket = self._tickets
            self._pending[ticket] = pair_id
        self._jobs.put((ticket, payload, pair))
        return ticket

    # -- the writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        store: Store | None = None
        try:
            while (job := self._jobs.get()) is not None:
                ticket, payload, pair = job
                waited = False
                while True:
                    try:
                        store = store or Store(self.db_path, busy_timeout_s=TRY_LOCK_S)
                        landed = self._apply(store, payload, pair)
                        asked = self._pending[ticket]
                        outcome = Outcome(ticket, landed, True, waited=waited, submitted_pair_id=asked)
                        break
                    except sqlite3.OperationalError as exc:
                        if "locked" not in str(exc) and "busy" not in str(exc):
                            outcome = Outcome(ticket, self._pending[ticket], False, str(exc), waited)
                            break
                        self.retries += 1
                        waited = True
                        time.sleep(RETRY_S)
                    except (ValueError, sqlite3.DatabaseError) as exc:  # gone pair, read-only, damage
                        outcome = Outcome(ticket, self._pending[ticket], False, str(exc), waited)
                        break
                with self._guard:
                    del self._pending[ticket]
                if self.on_outcome is not None:
                    self.on_outcome(outcome)
        finally:
            if store is not None:
                store.close()

    @staticmethod
    def _apply(store: Store, payload: Preference | Removal, pair: Pair | None) -> int:
        """Commit one job; the pair id it landed on."""
        if isinstance(payload, Preference):
            with store.write():
                if pair is not None and store.pair(payload.pair_id) != pair:
                    payload = payload.model_copy(update={"pair_id": store.restore_pair(pair)})
                store.record_preference(payload)
            return payload.pair_id
        with store.write():
            store.remove_preference(
                payload.pair_id, PreferenceSource.HUMAN, payload.annotator, payload.adjudicated
            )
        return payload.pair_id
