"""The workspace database: one SQLite file, opened in WAL mode with a busy timeout.

The TUI and a background training process use the same file at once, so every write is a
short transaction, and every human decision is committed the moment it is made.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from core.actions import classify_steps
from core.agreement.labels import LabelPolicy, resolve
from core.prefix import step_keys
from core.schema import Flag, Pair, Preference, PreferenceSource, Rollout, Task, ToolCall
from storage import rows
from storage.health import DatabaseDamaged, open_read_only
from storage.migrations import LATEST, migrate, version, write_transaction

BUSY_TIMEOUT_S = 30.0


class ReadOnlyWorkspace(ValueError):
    """A write asked of a database this process may only read."""


class Store:
    """A small repository over the workspace database; the path is always passed in.

    A database this process cannot write (a read-only mount, another user's files) is opened
    read-only: browsing works, and the first write says why it cannot happen. A damaged file
    is reported as `DatabaseDamaged` with its path, never as a raw SQLite error.
    """

    def __init__(self, path: Path, busy_timeout_s: float | None = None) -> None:
        self.path = Path(path)
        self.read_only = self.path.exists() and not (
            os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
        )
        try:
            # No sqlite-utils plugin of the environment touches the workspace's connection (and
            # looking them up reads every installed package's metadata, on the first open).
            connection = self._connect(BUSY_TIMEOUT_S if busy_timeout_s is None else busy_timeout_s)
            self.db = Database(connection, execute_plugins=False)
            if self.read_only:
                self._check_schema()
                return
            self.db.execute("PRAGMA journal_mode = WAL")
            # FULL: a confirmed label survives a power cut too, not only a killed process.
            self.db.execute("PRAGMA synchronous = FULL")
            self.db.execute("PRAGMA foreign_keys = ON")
            migrate(self.db)
        except sqlite3.OperationalError:  # locked, busy, cannot open: contention, not damage
            raise
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
            raise DatabaseDamaged(self.path, str(exc)) from exc

    def _connect(self, busy_timeout_s: float) -> sqlite3.Connection:
        if self.read_only:
            return open_read_only(self.path, busy_timeout_s)
        return sqlite3.connect(str(self.path), timeout=busy_timeout_s)

    def _check_schema(self) -> None:
        found = version(self.db)
        if found != LATEST:
            raise ReadOnlyWorkspace(
                f"{self.path} is read-only and at schema version {found}; this agentpref needs "
                f"{LATEST}: open it once where it is writable"
            )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self):  # type: ignore[no-untyped-def]
        """A write transaction that waits for the lock (see `write_transaction`)."""
        if self.read_only:
            raise ReadOnlyWorkspace(
                f"{self.path.parent} is read-only: browsing and `status` work, but nothing can be "
                "stored (decisions, imports, runs); use a writable copy of the workspace"
            )
        return write_transaction(self.db)

    def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self.db.execute(sql, list(params)).fetchone()[0]

    # -- tasks ------------------------------------------------------------------
    def upsert_task(self, task: Task) -> None:
        self.db["tasks"].upsert(rows.task_row(task), pk="id")  # type: ignore[union-attr]

    def ensure_tasks(self, task_ids: Iterable[str]) -> None:
        """Placeholder rows for tasks known only by id (imported rollouts)."""
        self.db.conn.executemany("INSERT OR IGNORE INTO tasks (id) VALUES (?)", [(t,) for t in set(task_ids)])

    def task(self, task_id: str) -> Task | None:
        row = next(self.db.query("SELECT * FROM tasks WHERE id = ?", [task_id]), None)
        return rows.task_from_row(row) if row else None

    def tasks(self) -> list[Task]:
        return [rows.task_from_row(r) for r in self.db.query("SELECT * FROM tasks ORDER BY id")]

    # -- imports ----------------------------------------------------------------
    def has_import(self, digest: str) -> bool:
        return self.scalar("SELECT count(*) FROM imports WHERE hash = ?", [digest]) > 0

    def record_import(self, digest: str, path: str, fmt: str, count: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO imports VALUES (?, ?, ?, ?, ?)", [digest, path, fmt, count, rows.now()]
        )

    # -- rollouts ---------------------------------------------------------------
    def insert_rollouts(self, batch: list[rows.PreparedRollout]) -> int:
        """Insert prepared rollouts; ids already stored (or repeated in the batch) are skipped.

        Returns how many were new. Call inside `self.write()` to make a file all-or-nothing.
        """
        existing = self._existing_ids([p.id for p in batch])
        unique: dict[str, rows.PreparedRollout] = {}
        for item in batch:
            if item.id not in existing and item.id not in unique:
                unique[item.id] = item
        if not unique:
            return 0
        fresh = list(unique.values())
        # Plain executemany: sqlite-utils' insert_all spends more time building statements
        # than SQLite spends writing, and imports are the one hot write path.
        with self.write():
            self._insert_many("rollouts", [p.rollout for p in fresh])
            self._insert_many("rollout_bodies", [p.body for p in fresh])
            self._insert_many("flags", [row for p in fresh for row in p.flags])
        return len(fresh)

    def _insert_many(self, table: str, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        columns = list(records[0])
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
        self.db.conn.executemany(sql, records)

    def _existing_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0] for r in self.db.execute(f"SELECT id FROM rollouts WHERE id IN ({marks})", chunk)
            )
        return found

    def rollout(self, rollout_id: str) -> Rollout | None:
        row = next(self.db.query("SELECT * FROM rollouts WHERE id = ?", [rollout_id]), None)
        if row is None:
            return None
        body = next(self.db.query("SELECT * FROM rollout_bodies WHERE rollout_id = ?", [rollout_id]), None)
        rollout = rows.rollout_from_rows(row, body, self.flags_of(rollout_id))
        classify_steps(rollout)  # actions are derived, not stored: a better classifier applies to old data
        return rollout

    def tool_call(self, rollout_id: str, index: int) -> ToolCall | None:
        """The tool call of a rollout's step (by position), without the rest of the rollout."""
        body = next(
            self.db.query("SELECT steps FROM rollout_bodies WHERE rollout_id = ?", [rollout_id]), None
        )
        return rows.decode_call(body["steps"], index) if body else None

    def flags_of(self, rollout_id: str) -> list[Flag]:
        return [
            rows.flag_from_row(r)
            for r in self.db.query("SELECT * FROM flags WHERE rollout_id = ? ORDER BY check_id", [rollout_id])
        ]

    def rollout_summaries(self, include_eval: bool = False) -> Iterator[dict[str, Any]]:
        """Light rows (no steps) for mining and lists: flags as a list of check ids."""
        where = "" if include_eval else "WHERE eval_id IS NULL"
        for row in self.db.query(f"SELECT * FROM rollouts {where} ORDER BY task_id, id"):
            row["flags"] = row["flags"].split() if row["flags"] else []
            yield row

    def flag_details(self) -> dict[str, dict[str, tuple[str, float, int | None]]]:
        """rollout id -> check id -> (message, weight, anchor step), for mining and pair reasons.

        Flags stored before anchors existed point at the first of their steps.
        """
        out: dict[str, dict[str, tuple[str, float, int | None]]] = {}
        for rollout_id, check_id, message, weight, anchor, steps in self.db.execute(
            "SELECT rollout_id, check_id, message, weight, anchor, steps FROM flags"
        ):
            if anchor is None and steps not in ("[]", ""):
                anchor = min(json.loads(steps), default=None)
            out.setdefault(rollout_id, {})[check_id] = (message, weight, anchor)
        return out

    def backfill_step_keys(self) -> int:
        """Fingerprint the steps of rollouts stored before fingerprints existed (once)."""
        missing = [r[0] for r in self.db.execute("SELECT id FROM rollouts WHERE step_keys IS NULL")]
        updates = []
        for rollout_id in missing:
            rollout = self.rollout(rollout_id)
            if rollout is not None:
                updates.append((" ".join(step_keys(rollout)), rollout_id))
        if updates:
            with self.write():
                self.db.conn.executemany("UPDATE rollouts SET step_keys = ? WHERE id = ?", updates)
        return len(updates)

    # -- pairs and preferences ----------------------------------------------------
    def replace_proposals(self, pairs: list[Pair]) -> tuple[int, int]:
        """Store a fresh mining result, keeping every pair that already has a decision.

        Undecided proposals that the new result no longer contains are dropped; new ones
        are added; a pair already stored (either orientation) keeps its id and decisions, and
        an undecided one takes the new direction, gap and reason.
        Returns (added, dropped).
        """
        keys = {rows.pair_key(p.chosen_id, p.rejected_id) for p in pairs}
        with self.write():
            undecided = [
                (r[0], r[1])
                for r in self.db.execute(
                    "SELECT id, pair_key FROM pairs WHERE id NOT IN (SELECT pair_id FROM preferences)"
                )
            ]
            drop = [pair_id for pair_id, key in undecided if key not in keys]
            self.db.conn.executemany("DELETE FROM pairs WHERE id = ?", [(i,) for i in drop])
            before = self.scalar("SELECT count(*) FROM pairs")
            self.db.conn.executemany(
                "INSERT INTO pairs (task_id, chosen_id, rejected_id, pair_key, score_gap, reason,"
                " differing_flags, mined_at, kind, step) VALUES (:task_id, :chosen_id, :rejected_id,"
                " :pair_key, :score_gap, :reason, :differing_flags, :mined_at, :kind, :step)"
                # An undecided pair takes the new direction, gap and reason (weights may have
                # changed); a decided one keeps what the decision was made on.
                " ON CONFLICT (pair_key) DO UPDATE SET chosen_id = excluded.chosen_id,"
                " rejected_id = excluded.rejected_id, score_gap = excluded.score_gap,"
                " reason = excluded.reason, differing_flags = excluded.differing_flags,"
                " mined_at = excluded.mined_at, kind = excluded.kind, step = excluded.step"
                " WHERE pairs.id NOT IN (SELECT pair_id FROM preferences)",
                [rows.pair_row(p) for p in pairs],
            )
            added = self.scalar("SELECT count(*) FROM pairs") - before
        return added, len(drop)

    def pairs(self, pending_only: bool = False) -> list[Pair]:
        # A skip is no decision: a skipped pair is still pending (for `label --auto` too).
        where = (
            "WHERE id NOT IN (SELECT pair_id FROM preferences WHERE decision != 'skip')"
            if pending_only
            else ""
        )
        return [rows.pair_from_row(r) for r in self.db.query(f"SELECT * FROM pairs {where} ORDER BY id")]

    def restore_pair(self, pair: Pair) -> int:
        """The id of the pair of these two rollouts: the stored one (a re-mine may have given it
        a new id), or `pair` stored again where a re-mine dropped it. A human judged these two
        rollouts; the judgement outlives the proposal. Call inside `self.write()`."""
        key = rows.pair_key(pair.chosen_id, pair.rejected_id)
        found = self.db.execute("SELECT id FROM pairs WHERE pair_key = ?", [key]).fetchone()
        if found:
            return int(found[0])
        cursor = self.db.execute(
            "INSERT INTO pairs (task_id, chosen_id, rejected_id, pair_key, score_gap, reason,"
            " differing_flags, mined_at, kind, step) VALUES (:task_id, :chosen_id, :rejected_id,"
            " :pair_key, :score_gap, :reason, :differing_flags, :mined_at, :kind, :step)",
            rows.pair_row(pair),
        )
        return int(cursor.lastrowid or 0)

    def pair(self, pair_id: int) -> Pair | None:
        row = next(self.db.query("SELECT * FROM pairs WHERE id = ?", [pair_id]), None)
        return rows.pair_from_row(row) if row else None

    def record_preference(self, pref: Preference) -> Preference:
        """Write one decision and commit it at once. It replaces only the same annotator's earlier
        decision of the same kind (a vote, or an adjudication) on the pair from the same source:
        another annotator's decision is never touched."""
        if (pref.decision.value == "prefer") != (pref.chosen_id is not None):
            raise ValueError("a 'prefer' decision names its chosen rollout, and only it does")
        if pref.adjudicated and (pref.source is not PreferenceSource.HUMAN or pref.decision.value == "skip"):
            raise ValueError("an adjudication is a person's decision, not a skip")
        pair = self.pair(pref.pair_id)
        if pair is None:
            raise ValueError(f"no pair {pref.pair_id}")
        if pref.chosen_id is not None and pref.chosen_id not in (pair.chosen_id, pair.rejected_id):
            raise ValueError(f"rollout {pref.chosen_id} is not part of pair {pref.pair_id}")
        row = rows.preference_row(pref)
        with self.write():
            self.db.execute(
                "DELETE FROM preferences WHERE pair_id = ? AND source = ? AND annotator = ?"
                " AND adjudicated = ?",
                [pref.pair_id, pref.source.value, pref.annotator, int(pref.adjudicated)],
            )
            cursor = self.db.execute(
                "INSERT INTO preferences (pair_id, source, decision, chosen_id, labeler, tags, note, left_id,"
                " blind, created_at, annotator, adjudicated) VALUES (:pair_id, :source, :decision,"
                " :chosen_id, :labeler, :tags, :note, :left_id, :blind, :created_at, :annotator,"
                " :adjudicated)",
                row,
            )
        return pref.model_copy(update={"id": cursor.lastrowid})

    def remove_preference(
        self,
        pair_id: int,
        source: PreferenceSource = PreferenceSource.HUMAN,
        annotator: str = "",
        adjudicated: bool = False,
    ) -> bool:
        """Undo: forget one annotator's decision (a vote, or an adjudication) on a pair; nobody
        else's. True when there was one."""
        cursor = self.db.execute(
            "DELETE FROM preferences WHERE pair_id = ? AND source = ? AND annotator = ? AND adjudicated = ?",
            [pair_id, source.value, annotator, int(adjudicated)],
        )
        return cursor.rowcount > 0

    def preferences(self, source: PreferenceSource | None = None) -> list[Preference]:
        where, params = ("WHERE source = ?", [source.value]) if source else ("", [])
        return [
            rows.preference_from_row(r)
            for r in self.db.query(f"SELECT * FROM preferences {where} ORDER BY id", params)
        ]

    def resolved_preferences(self, policy: LabelPolicy) -> tuple[list[Preference], list[int]]:
        """One decision per pair under a label policy (see core.agreement.labels), and the pairs
        the policy dropped because their annotators disagree.

        Human decisions decide a pair; where there is none, the automatic one does. A pair
        dropped for disagreement is not decided automatically instead. Skips are no decisions.
        """
        human: dict[int, list[Preference]] = {}
        auto: dict[int, Preference] = {}
        for row in self.db.query("SELECT * FROM preferences WHERE decision != 'skip' ORDER BY pair_id, id"):
            pref = rows.preference_from_row(row)
            if pref.source is PreferenceSource.HUMAN:
                human.setdefault(pref.pair_id, []).append(pref)
            else:
                auto[pref.pair_id] = pref
        chosen, dropped = [], []
        for pair_id in sorted(human.keys() | auto.keys()):
            if pair_id not in human:
                chosen.append(auto[pair_id])
            elif (standing := resolve(human[pair_id], policy)) is not None:
                chosen.append(standing)
            else:
                dropped.append(pair_id)
        return chosen, dropped

    def effective_preferences(self, policy: LabelPolicy = LabelPolicy.MAJORITY) -> list[Preference]:
        """One decision per pair: the human one where it exists (of several annotators', the one
        `policy` picks: `[train] label_policy`, whose default is majority), else the automatic
        one. A skip is no decision: it never hides an automatic one, and is not returned."""
        return self.resolved_preferences(policy)[0]

    # -- runs and evaluations -------------------------------------------------------
    def evals(self) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT id, run_id, status, pid, pid_start, heartbeat, created_at"
                " FROM evals ORDER BY created_at"
            )
        )
