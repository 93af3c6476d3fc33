"""Training runs in the database: the row a run updates as it goes, and its logged metrics.

The training process writes; the TUI reads (and may write `queued` rows and cancel by pid).
Every write is its own short transaction so the two never hold each other up.
"""

from __future__ import annotations

from typing import Any

from core.schema import RunConfig, TrainRun
from storage.jobs import JOB_ID, JobTable
from storage.rows import now
from storage.store import Store

RUN_ID = JOB_ID
RUNS = JobTable("runs", TrainRun, ("config", "final_metrics", "dataset", "options"), "run")


def create_run(
    store: Store, config: RunConfig | None = None, run_id: str | None = None, log_path: str = ""
) -> str:
    """A `queued` row; the id is `run-N` unless given (it names the folder under runs/)."""
    return RUNS.create(store, run_id, config=config or RunConfig(), log_path=log_path or None)


def update_run(store: Store, run_id: str, **fields: Any) -> None:
    RUNS.update(store, run_id, **fields)


def start_run(store: Store, run_id: str, pid: int) -> None:
    RUNS.start(store, run_id, pid)


def end_run(store: Store, run_id: str, status: str, **fields: Any) -> None:
    RUNS.end(store, run_id, status, **fields)


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


def get_run(store: Store, run_id: str) -> TrainRun | None:
    return RUNS.get(store, run_id)


def cancel_run(store: Store, run_id: str) -> str:
    """Ask a running run to stop (SIGTERM: it saves and ends as `cancelled`); says so in words.

    ValueError for a run that is not there or not running (the CLI's bad input, a screen's warning).
    """
    pid = RUNS.stop(store, run_id)
    return f"asked run {run_id} (pid {pid}) to stop; it saves a checkpoint first"


def list_runs(store: Store) -> list[TrainRun]:
    """Newest first, each with `shown_status` (`lost` where the process stopped beating)."""
    return RUNS.list(store)


def latest_finished(store: Store) -> TrainRun | None:
    row = next(
        store.db.query(
            "SELECT * FROM runs WHERE status = 'finished' ORDER BY finished_at DESC, created_at DESC LIMIT 1"
        ),
        None,
    )
    return RUNS.decode(row) if row else None


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
