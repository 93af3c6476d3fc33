"""Human decisions committed off the caller's thread, in order, retried until they are stored.

The labelling screen must answer a key at once even while an import or a training run holds
the database's write lock. A decision handed to the writer is *pending* until its transaction
commits; a lock is contention, not failure, so the writer waits a moment and tries again for
as long as it takes. Only a permanent refusal (a new `mine` removed the pair, the workspace is
read-only) ends a decision unstored, and the caller hears why. Decisions and undos keep their
order: an undo of a pending decision runs after it.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.schema import Preference, PreferenceSource
from storage.store import Store

RETRY_S = 0.2  # pause after a failed try: the lock holder commits, then we get in
TRY_LOCK_S = 0.5  # how long one try waits for the lock before the writer reports and retries


@dataclass(frozen=True)
class Outcome:
    """What became of one submitted decision or undo."""

    ticket: int
    pair_id: int
    stored: bool  # committed (an undo: the decision is gone)
    error: str = ""  # why it never will be, when not stored
    waited: bool = False  # it met a held lock at least once before this outcome


class DecisionWriter:
    """One thread, one connection; `record`/`remove` return at once with a ticket."""

    def __init__(self, db_path: Path, on_outcome: Callable[[Outcome], None] | None = None) -> None:
        self.db_path = Path(db_path)
        self.on_outcome = on_outcome
        self._jobs: queue.Queue[tuple[int, str, Preference | int] | None] = queue.Queue()
        self._pending: dict[int, int] = {}  # ticket -> pair id
        self._guard = threading.Lock()
        self._tickets = 0
        self.retries = 0  # tries that met the lock (for status lines and tests)
        self._thread = threading.Thread(target=self._run, name="decision-writer", daemon=True)
        self._thread.start()

    # -- the caller's side ------------------------------------------------------------------
    def record(self, pref: Preference) -> int:
        return self._submit("record", pref, pref.pair_id)

    def remove(self, pair_id: int) -> int:
        return self._submit("remove", pair_id, pair_id)

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

    def _submit(self, kind: str, payload: Preference | int, pair_id: int) -> int:
        with self._guard:
            self._tickets += 1
            ticket = self._tickets
            self._pending[ticket] = pair_id
        self._jobs.put((ticket, kind, payload))
        return ticket

    # -- the writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        store: Store | None = None
        try:
            while (job := self._jobs.get()) is not None:
                ticket, kind, payload = job
                waited = False
                while True:
                    try:
                        store = store or Store(self.db_path, busy_timeout_s=TRY_LOCK_S)
                        self._apply(store, kind, payload)
                        outcome = Outcome(ticket, self._pending[ticket], stored=True, waited=waited)
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
    def _apply(store: Store, kind: str, payload: Preference | int) -> None:
        if kind == "record":
            assert isinstance(payload, Preference)
            store.record_preference(payload)
        else:
            assert isinstance(payload, int)
            with store.write():
                store.remove_preference(payload, PreferenceSource.HUMAN)
