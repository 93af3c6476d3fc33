"""What training runs and evaluations share as background jobs: status, pid, heartbeat.

A job runs in its own OS process and beats every few seconds from a thread with its own
database connection, so a long tokenisation or reference pass still shows as alive. A row
that says `running` whose beats stopped *and* whose process is gone (killed, the machine
rebooted) is reported as `lost`: the TUI must never show a dead run as running, nor a live
one as lost because another process held the write lock for a while. The process is known
by its pid and its start time, so a pid the system gave to another process does not count.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.rows import now

if TYPE_CHECKING:
    from storage.store import Store

QUEUED, RUNNING, FINISHED, FAILED, CANCELLED, LOST = (
    "queued",
    "running",
    "finished",
    "failed",
    "cancelled",
    "lost",
)
BEAT_EVERY_S = 5.0
LOST_AFTER_S = 45.0  # nine missed beats
QUEUED_LOST_AFTER_S = 120.0  # started by the TUI but never picked up
JOB_TABLES = ("runs", "evals")


def _age_s(stamp: str | None) -> float:
    if not stamp:
        return float("inf")
    return (datetime.now(UTC) - datetime.fromisoformat(stamp)).total_seconds()


def pid_alive(pid: int | None) -> bool:
    """Whether `pid` runs on this machine (a job row may come from another host: unknown is
    alive). A zombie (a finished child its parent has not reaped yet) is not alive."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _proc_stat(pid)
    return stat is None or stat[0] != "Z"


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the process name (state first), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return text.rpartition(")")[2].split()  # the name before ")" may hold spaces


def process_started(pid: int | None) -> str | None:
    """When process `pid` started (clock ticks since boot, from /proc), or None where unknown."""
    fields = _proc_stat(pid) if pid else None
    return fields[19] if fields and len(fields) > 19 else None


def owned_by(pid: int) -> dict[str, Any]:
    """The columns that name a job's process: its pid and start time (a pid gets reused)."""
    return {"pid": pid, "pid_start": process_started(pid)}


def start_job(store: Store, table: str, job_id: str, json_columns: Iterable[str], pid: int) -> None:
    """Mark a job running in process `pid`, beating from now on."""
    fields = {**owned_by(pid), "status": RUNNING, "heartbeat": now(), "error": None, "finished_at": None}
    update_job(store, table, job_id, json_columns, **fields)


def job_process_alive(row: dict[str, Any]) -> bool:
    """Whether the process a job row names still runs: same pid, same start time."""
    pid = row.get("pid")
    if not pid_alive(pid):
        return False
    recorded, current = row.get("pid_start"), process_started(pid)
    return not (recorded and current and recorded != current)


def shown_status(row: dict[str, Any]) -> str:
    """The status to show: `lost` for a running (or long-queued) job that stopped beating and
    whose process is gone."""
    status = row["status"]
    if status == RUNNING and _age_s(row.get("heartbeat")) > 2 * BEAT_EVERY_S and not job_process_alive(row):
        return LOST
    if (
        status == QUEUED
        and _age_s(row.get("heartbeat") or row.get("created_at")) > QUEUED_LOST_AFTER_S
        and not job_process_alive(row)
    ):
        return LOST
    return str(status)


def update_job(store: Store, table: str, job_id: str, json_columns: Iterable[str], **fields: Any) -> None:
    """Set columns of a job row in one short transaction; `json_columns` are stored as JSON."""
    if table not in JOB_TABLES:
        raise ValueError(f"not a job table: {table}")
    if not fields:
        return
    encoded = set(json_columns)
    values = {k: json.dumps(v) if k in encoded else v for k, v in fields.items()}
    assignments = ", ".join(f"{k} = :{k}" for k in values)
    with store.write():
        store.db.execute(f"UPDATE {table} SET {assignments} WHERE id = :_id", {**values, "_id": job_id})


def decode_job(row: dict[str, Any], json_columns: Iterable[str]) -> dict[str, Any]:
    """JSON columns parsed, and `shown_status` added."""
    for key in json_columns:
        row[key] = json.loads(row[key] or "{}")
    row["shown_status"] = shown_status(row)
    return row


def stop_job(row: dict[str, Any] | None, what: str) -> int:
    """SIGTERM a job's process (it stops cleanly at its next step); returns the pid.

    Only a job shown as running or queued is signalled: a lost job's pid may belong to
    another process by now.
    """
    import signal

    if row is None:
        raise ValueError(f"no {what}")
    status = row.get("shown_status") or shown_status(row)
    if status not in (RUNNING, QUEUED) or not row.get("pid"):
        raise ValueError(f"{what} is {status}, not running")
    try:
        os.kill(row["pid"], signal.SIGTERM)
    except ProcessLookupError as exc:
        raise ValueError(f"{what}'s process {row['pid']} is gone (it is lost)") from exc
    return int(row["pid"])


class Heartbeat:
    """A daemon thread that stamps `table.heartbeat` for one job until stopped.

    A beat that cannot get the write lock (an import holding it) or meets any other database
    error is skipped, not fatal: the next beat tries again. Waiting longer than one beat for
    the lock would only delay the beat after it.
    """

    def __init__(self, db_path: Path, table: str, job_id: str, every_s: float = BEAT_EVERY_S) -> None:
        if table not in JOB_TABLES:
            raise ValueError(f"not a job table: {table}")
        self.db_path, self.table, self.job_id, self.every_s = db_path, table, job_id, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)
        self.beats = self.missed = 0
        self.last_error = ""

    def _run(self) -> None:
        import sqlite3

        from storage.store import Store  # its own connection: sqlite3 connections stay in their thread

        store: Store | None = None
        try:
            while True:
                try:
                    store = store or Store(self.db_path, busy_timeout_s=self.every_s)
                    with store.write():
                        store.db.execute(
                            f"UPDATE {self.table} SET heartbeat = ? WHERE id = ?", [now(), self.job_id]
                        )
                    self.beats += 1
                except sqlite3.Error as exc:
                    self.missed += 1
                    self.last_error = str(exc)
                if self._stop.wait(self.every_s):
                    return
        finally:
            if store is not None:
                store.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
