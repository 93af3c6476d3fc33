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
import re
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from core.schema import Job
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
JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # it names a folder under runs/: no path
J = TypeVar("J", bound=Job)


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


def owned_by(pid: int) -> dict[str, int | str | None]:
    """The columns that name a job's process: its pid and start time (a pid gets reused)."""
    return {"pid": pid, "pid_start": process_started(pid)}


def job_process_alive(job: Job) -> bool:
    """Whether the process a job names still runs: same pid, same start time."""
    if not pid_alive(job.pid):
        return False
    recorded, current = job.pid_start, process_started(job.pid)
    return not (recorded and current and recorded != current)


def shown_status(job: Job) -> str:
    """The status to show: `lost` for a running (or long-queued) job that stopped beating and
    whose process is gone."""
    status = job.status
    if status == RUNNING and _age_s(job.heartbeat) > 2 * BEAT_EVERY_S and not job_process_alive(job):
        return LOST
    if (
        status == QUEUED
        and _age_s(job.heartbeat or job.created_at) > QUEUED_LOST_AFTER_S
        and not job_process_alive(job)
    ):
        return LOST
    return status


def stop_job(job: Job | None, what: str) -> int:
    """SIGTERM a job's process (it stops cleanly at its next step); returns the pid.

    Only a job shown as running or queued is signalled: a lost job's pid may belong to
    another process by now.
    """
    if job is None:
        raise ValueError(f"no {what}")
    status = job.shown_status  # set by JobTable.decode, as `get` returns it
    if status not in (RUNNING, QUEUED) or not job.pid:
        raise ValueError(f"{what} is {status}, not running")
    try:
        os.kill(job.pid, signal.SIGTERM)
    except ProcessLookupError as exc:
        raise ValueError(f"{what}'s process {job.pid} is gone (it is lost)") from exc
    return job.pid


class JobTable(Generic[J]):
    """One table of background jobs (`runs`, `evals`): create, update, start, end, read, stop.

    Rows go in and out as the table's model (`TrainRun`, `EvalRun`); `json_columns` are stored as
    JSON text (a pydantic value is dumped first). Every write is its own short transaction, so
    the job's process and the TUI never hold each other up.
    """

    def __init__(self, table: str, model: type[J], json_columns: tuple[str, ...], noun: str) -> None:
        if table not in JOB_TABLES:
            raise ValueError(f"not a job table: {table}")
        self.table, self.model, self.json_columns, self.noun = table, model, json_columns, noun
        self.prefix = table.removesuffix("s")  # run-N, eval-N

    def next_id(self, store: Store) -> str:
        numbers = [
            int(m.group(1))
            for (job_id,) in store.db.execute(f"SELECT id FROM {self.table}")
            if (m := re.match(rf"{self.prefix}-(\d+)$", job_id))
        ]
        return f"{self.prefix}-{max(numbers, default=0) + 1}"

    def create(self, store: Store, job_id: str | None = None, **columns: Any) -> str:
        """A `queued` row; the id is `<prefix>-N` unless given (it names the job's folder or log)."""
        a = "an" if self.noun[0] in "aeiou" else "a"
        with store.write():
            job_id = job_id or self.next_id(store)
            if not JOB_ID.match(job_id):
                raise ValueError(
                    f"{self.noun} id {job_id!r}: use letters, digits, '.', '_' or '-' (at most 64)"
                )
            if store.scalar(f"SELECT count(*) FROM {self.table} WHERE id = ?", [job_id]):
                raise ValueError(f"{a} {self.noun} named {job_id} already exists")
            values = self._encode({"id": job_id, "status": QUEUED, "created_at": now(), "heartbeat": now()})
            values |= self._encode(columns)
            names = ", ".join(values)
            store.db.execute(
                f"INSERT INTO {self.table} ({names}) VALUES ({', '.join(f':{k}' for k in values)})", values
            )
        return job_id

    def update(self, store: Store, job_id: str, **fields: Any) -> None:
        """Set columns of a job row in one short transaction."""
        if not fields:
            return
        values = self._encode(fields)
        assignments = ", ".join(f"{k} = :{k}" for k in values)
        with store.write():
            store.db.execute(
                f"UPDATE {self.table} SET {assignments} WHERE id = :_id", {**values, "_id": job_id}
            )

    def start(self, store: Store, job_id: str, pid: int) -> None:
        """Mark a job running in process `pid`, beating from now on."""
        self.update(
            store, job_id, **owned_by(pid), status=RUNNING, heartbeat=now(), error=None, finished_at=None
        )

    def end(self, store: Store, job_id: str, status: str, **fields: Any) -> None:
        self.update(store, job_id, status=status, finished_at=now(), **fields)

    def get(self, store: Store, job_id: str) -> J | None:
        row = next(store.db.query(f"SELECT * FROM {self.table} WHERE id = ?", [job_id]), None)
        return self.decode(row) if row else None

    def list(self, store: Store, columns: str = "*") -> list[J]:
        """Newest first, each with `shown_status` (`lost` where the process stopped beating)."""
        query = f"SELECT {columns} FROM {self.table} ORDER BY created_at DESC, id DESC"
        return [self.decode(r) for r in store.db.query(query)]

    @contextmanager
    def running_here(self, store: Store, job_id: str) -> Iterator[None]:
        """This process runs the job: its row says so (pid, start time) and beats until the block
        ends, from a thread of its own, so a long step without progress still shows as alive."""
        self.start(store, job_id, os.getpid())
        with Heartbeat(store.path, self.table, job_id):
            yield

    def stop(self, store: Store, job_id: str) -> int:
        """SIGTERM the job's process (see `stop_job`); returns its pid."""
        return stop_job(self.get(store, job_id), f"{self.noun} {job_id}")

    def decode(self, row: Mapping[str, object]) -> J:
        """A row as the model: JSON columns parsed, `shown_status` set."""
        values = {k: json.loads(str(v or "{}")) if k in self.json_columns else v for k, v in row.items()}
        job = self.model.model_validate(values)
        job.shown_status = shown_status(job)
        return job

    def _encode(self, fields: Mapping[str, object]) -> dict[str, object]:
        return {k: _json(v) if k in self.json_columns else v for k, v in fields.items()}


def _json(value: object) -> str:
    return json.dumps(value.model_dump(mode="json") if isinstance(value, BaseModel) else value)


class StopOnSignal(threading.Event):
    """Set by SIGTERM or Ctrl-C while the block runs: the job stops cleanly at its next step
    (a run saves a checkpoint, an evaluation keeps the rollouts that finished).

    `on_request` is told (a log line); with `interrupt_twice`, a second Ctrl-C interrupts at once.
    The handlers before are restored when the block ends.
    """

    def __init__(self, on_request: Callable[[], None] | None = None, interrupt_twice: bool = False) -> None:
        super().__init__()
        self.on_request, self.interrupt_twice = on_request, interrupt_twice
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.interrupt_twice and self.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.set()
        if self.on_request is not None:
            self.on_request()

    def __enter__(self) -> StopOnSignal:
        self._previous = {s: signal.signal(s, self._handle) for s in (signal.SIGTERM, signal.SIGINT)}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


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
