"""Training runs in the database: the row a run updates as it goes, and its logged metrics.

The training process writes; the TUI reads (and may write `queued` rows and cancel by pid).
Every write is its own short transaction so the two never hold each other up.
"""

from __future__ import annotations

import json
import re
from typing import Any

from storage.jobs import QUEUED, decode_job, start_job, stop_job, update_job
from storage.rows import now
from storage.store import Store

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
JSON_COLUMNS = ("config", "final_metrics", "dataset", "options")


def next_run_id(store: Store) -> str:
    numbers = [
        int(m.group(1))
        for (rid,) in store.db.execute("SELECT id FROM runs")
        if (m := re.match(r"run-(\d+)$", rid))
    ]
    return f"run-{max(numbers, default=0) + 1}"


def create_run(store: Store, config: dict[str, Any], run_id: str | None = None, log_path: str = "") -> str:
    """A `queued` row; the id is `run-N` unless given (it names the folder under runs/)."""
    with store.write():
        run_id = run_id or next_run_id(store)
        if not RUN_ID.match(run_id):
            raise ValueError(f"run id {run_id!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        if store.scalar("SELECT count(*) FROM runs WHERE id = ?", [run_id]):
            raise ValueError(f"a run named {run_id} already exists")
        store.db.execute(
            "INSERT INTO runs (id, status, created_at, heartbeat, config, log_path)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, QUEUED, now(), now(), json.dumps(config), log_path or None],
        )
    return run_id


def update_run(store: Store, run_id: str, **fields: Any) -> None:
    update_job(store, "runs", run_id, JSON_COLUMNS, **fields)


def start_run(store: Store, run_id: str, pid: int) -> None:
    start_job(store, "runs", run_id, JSON_COLUMNS, pid)


def end_run(store: Store, run_id: str, status: str, **fields: Any) -> None:
    update_run(store, run_id, status=status, finished_at=now(), **fields)


def record_metrics(
    store: Store, run_id: str, step: int, epoch: float | None, split: str, logs: dict[str, float]
) -> None:
    """One logged batch of metrics (loss, rewards/*, learning_rate, ...): one row per value."""
    rows = [
        (run_id, step, epoch, split, name, float(value), now())
        for name, value in logs.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    if not rows:
        return
    with store.write():
        store.db.conn.executemany(
            "INSERT INTO run_metrics (run_id, step, epoch, split, name, value, logged_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        store.db.execute("UPDATE runs SET step = max(step, ?) WHERE id = ?", [step, run_id])


def forget_metrics_after(store: Store, run_id: str, step: int) -> None:
    """A resumed run trains the steps after its checkpoint again: drop their first logging."""
    with store.write():
        store.db.execute("DELETE FROM run_metrics WHERE run_id = ? AND step > ?", [run_id, step])
        store.db.execute("UPDATE runs SET step = ? WHERE id = ?", [step, run_id])


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    return decode_job(row, JSON_COLUMNS)


def get_run(store: Store, run_id: str) -> dict[str, Any] | None:
    row = next(store.db.query("SELECT * FROM runs WHERE id = ?", [run_id]), None)
    return _decode(row) if row else None


def cancel_run(store: Store, run_id: str) -> str:
    """Ask a running run to stop (SIGTERM: it saves and ends as `cancelled`); says so in words.

    ValueError for a run that is not there or not running (the CLI's bad input, a screen's warning).
    """
    pid = stop_job(get_run(store, run_id), f"run {run_id}")
    return f"asked run {run_id} (pid {pid}) to stop; it saves a checkpoint first"


def list_runs(store: Store) -> list[dict[str, Any]]:
    """Newest first, each with `shown_status` (`lost` where the process stopped beating)."""
    return [_decode(r) for r in store.db.query("SELECT * FROM runs ORDER BY created_at DESC, id DESC")]


def latest_finished(store: Store) -> dict[str, Any] | None:
    row = next(
        store.db.query(
            "SELECT * FROM runs WHERE status = 'finished' ORDER BY finished_at DESC, created_at DESC LIMIT 1"
        ),
        None,
    )
    return _decode(row) if row else None


def metric_series(
    store: Store, run_id: str, split: str = "train", names: tuple[str, ...] = ()
) -> dict[str, list[tuple[int, float]]]:
    """name -> [(step, value), ...] in step order, for the curves (only `names` when given)."""
    series: dict[str, list[tuple[int, float]]] = {}
    only = f" AND name IN ({', '.join('?' * len(names))})" if names else ""
    for name, step, value in store.db.execute(
        "SELECT name, step, value FROM run_metrics WHERE run_id = ? AND split = ?"
        f"{only} ORDER BY step, rowid",
        [run_id, split, *names],
    ):
        series.setdefault(name, []).append((step, value))
    return series
