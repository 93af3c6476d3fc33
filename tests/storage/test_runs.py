from datetime import UTC, datetime, timedelta

import pytest

from storage import runs
from storage.jobs import Heartbeat, job_process_alive, process_started, shown_status
from storage.store import Store
from tests.conftest import wait_for


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "a.db") as s:
        yield s


def test_runs_are_numbered_and_names_checked(store):
    assert runs.create_run(store, {}) == "run-1"
    assert runs.create_run(store, {}, "mine") == "mine"
    assert runs.create_run(store, {}) == "run-2"
    with pytest.raises(ValueError, match="already exists"):
        runs.create_run(store, {}, "mine")
    with pytest.raises(ValueError, match="use letters"):
        runs.create_run(store, {}, "../escape")


def test_metrics_are_stored_per_name_in_step_order(store):
    run_id = runs.create_run(store, {})
    runs.record_metrics(store, run_id, 2, 0.5, "train", {"loss": 0.6, "rewards/accuracies": 0.75})
    runs.record_metrics(store, run_id, 1, 0.25, "train", {"loss": 0.7, "note": "text is skipped"})
    runs.record_metrics(store, run_id, 2, 0.5, "eval", {"loss": 0.65})
    assert runs.metric_series(store, run_id)["loss"] == [(1, 0.7), (2, 0.6)]
    assert runs.metric_series(store, run_id, "eval") == {"loss": [(2, 0.65)]}
    assert "note" not in runs.metric_series(store, run_id)
    assert runs.get_run(store, run_id)["step"] == 2


def _ago(seconds):
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def _this_process(**row):
    """A job row whose process is this test's own (alive, pid and start time)."""
    import os

    return {**row, "pid": os.getpid(), "pid_start": process_started(os.getpid())}


def test_a_running_job_that_stopped_beating_is_lost(store):
    alive = _this_process(status="running", heartbeat=_ago(1))
    assert shown_status(alive) == "running"
    assert shown_status({**alive, "heartbeat": _ago(20), "pid": 2**22 + 12345}) == "lost"  # no such process
    assert shown_status({**alive, "heartbeat": _ago(600), "pid_start": "1"}) == "lost"  # its pid, reused
    assert shown_status({"status": "finished", "heartbeat": _ago(9999), "pid": None}) == "finished"
    assert shown_status({"status": "queued", "heartbeat": _ago(9999), "created_at": _ago(9999)}) == "lost"


def test_heartbeat_thread_stamps_the_row(store):
    run_id = runs.create_run(store, {})
    runs.update_run(store, run_id, heartbeat=_ago(3600))
    with Heartbeat(store.path, "runs", run_id, every_s=0.05):
        pass
    assert runs.get_run(store, run_id)["shown_status"] == "queued"
    assert datetime.fromisoformat(runs.get_run(store, run_id)["heartbeat"]) > datetime.now(UTC) - timedelta(
        seconds=5
    )


def test_latest_finished_run(store):
    assert runs.latest_finished(store) is None
    first, second = runs.create_run(store, {}), runs.create_run(store, {})
    runs.end_run(store, first, "finished", adapter_path="a")
    runs.end_run(store, second, "failed", error="boom")
    assert runs.latest_finished(store)["id"] == first


def test_a_resumed_run_forgets_the_metrics_after_its_checkpoint(store):
    run_id = runs.create_run(store, {})
    for step in range(1, 6):
        runs.record_metrics(store, run_id, step, None, "train", {"loss": 1.0 / step})
    runs.forget_metrics_after(store, run_id, 3)
    assert [s for s, _ in runs.metric_series(store, run_id)["loss"]] == [1, 2, 3]
    assert runs.get_run(store, run_id)["step"] == 3


def test_a_job_whose_process_lives_is_never_lost_however_long_its_beats_were_held_up(store):
    """Another process may hold the write lock for minutes (a big import): the run lives on."""
    row = _this_process(status="running", heartbeat=_ago(3600))
    assert job_process_alive(row) and shown_status(row) == "running"
    assert shown_status({**row, "status": "queued", "created_at": _ago(3600)}) == "queued"


def test_heartbeat_skips_beats_while_the_lock_is_held_and_beats_again_after(store):
    import sqlite3

    run_id = runs.create_run(store, {})
    runs.update_run(store, run_id, heartbeat=_ago(3600))
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # as a long import does
    with Heartbeat(store.path, "runs", run_id, every_s=0.05) as beat:
        wait_for(lambda: beat.missed >= 3, "the heartbeat never met the held lock")
        assert beat.beats == 0 and "locked" in beat.last_error
        other.execute("ROLLBACK")
        wait_for(lambda: beat.beats >= 1, "the heartbeat died instead of beating again")
    stamp = datetime.fromisoformat(runs.get_run(store, run_id)["heartbeat"])
    assert stamp > datetime.now(UTC) - timedelta(seconds=60)
