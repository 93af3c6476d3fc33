import json
from datetime import UTC, datetime, timedelta

import pytest

from core.schema import TrainRun
from storage import runs
from storage.jobs import Heartbeat, job_process_alive, process_started, shown_status
from storage.store import Store
from tests.conftest import wait_for


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "a.db") as s:
        yield s


def test_runs_are_numbered_and_names_checked(store):
    assert runs.create_run(store) == "run-1"
    assert runs.create_run(store, None, "mine") == "mine"
    assert runs.create_run(store) == "run-2"
    with pytest.raises(ValueError, match="already exists"):
        runs.create_run(store, None, "mine")
    with pytest.raises(ValueError, match="use letters"):
        runs.create_run(store, None, "../escape")


def test_metrics_are_stored_per_name_in_step_order(store):
    run_id = runs.create_run(store)
    runs.record_metrics(store, run_id, 2, 0.5, "train", {"loss": 0.6, "rewards/accuracies": 0.75})
    runs.record_metrics(store, run_id, 1, 0.25, "train", {"loss": 0.7, "note": "text is skipped"})
    runs.record_metrics(store, run_id, 2, 0.5, "eval", {"loss": 0.65})
    assert runs.metric_series(store, run_id)["loss"] == [(1, 0.7), (2, 0.6)]
    assert runs.metric_series(store, run_id, "eval") == {"loss": [(2, 0.65)]}
    assert "note" not in runs.metric_series(store, run_id)
    assert runs.get_run(store, run_id).step == 2


def _ago(seconds):
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def _job(**row):
    return TrainRun(id="r", **row)


def _this_process(**row):
    """A job row whose process is this test's own (alive, pid and start time)."""
    import os

    return _job(**row, pid=os.getpid(), pid_start=process_started(os.getpid()))


def test_a_running_job_that_stopped_beating_is_lost(store):
    alive = _this_process(status="running", heartbeat=_ago(1))
    assert shown_status(alive) == "running"
    gone = alive.model_copy(update={"heartbeat": _ago(20), "pid": 2**22 + 12345})
    assert shown_status(gone) == "lost"  # no such process
    assert (
        shown_status(alive.model_copy(update={"heartbeat": _ago(600), "pid_start": "1"})) == "lost"
    )  # reused
    assert shown_status(_job(status="finished", heartbeat=_ago(9999), pid=None)) == "finished"
    assert shown_status(_job(status="queued", heartbeat=_ago(9999), created_at=_ago(9999))) == "lost"


def test_heartbeat_thread_stamps_the_row(store):
    run_id = runs.create_run(store)
    runs.update_run(store, run_id, heartbeat=_ago(3600))
    with Heartbeat(store.path, "runs", run_id, every_s=0.05):
        pass
    assert runs.get_run(store, run_id).shown_status == "queued"
    assert datetime.fromisoformat(runs.get_run(store, run_id).heartbeat) > datetime.now(UTC) - timedelta(
        seconds=5
    )


def test_latest_finished_run(store):
    assert runs.latest_finished(store) is None
    first, second = runs.create_run(store), runs.create_run(store)
    runs.end_run(store, first, "finished", adapter_path="a")
    runs.end_run(store, second, "failed", error="boom")
    assert runs.latest_finished(store).id == first


def test_a_resumed_run_forgets_the_metrics_after_its_checkpoint(store):
    run_id = runs.create_run(store)
    for step in range(1, 6):
        runs.record_metrics(store, run_id, step, None, "train", {"loss": 1.0 / step})
    runs.forget_metrics_after(store, run_id, 3)
    assert [s for s, _ in runs.metric_series(store, run_id)["loss"]] == [1, 2, 3]
    assert runs.get_run(store, run_id).step == 3


def test_a_job_whose_process_lives_is_never_lost_however_long_its_beats_were_held_up(store):
    """Another process may hold the write lock for minutes (a big import): the run lives on."""
    row = _this_process(status="running", heartbeat=_ago(3600))
    assert job_process_alive(row) and shown_status(row) == "running"
    assert shown_status(row.model_copy(update={"status": "queued", "created_at": _ago(3600)})) == "queued"


def test_heartbeat_skips_beats_while_the_lock_is_held_and_beats_again_after(store):
    import sqlite3

    run_id = runs.create_run(store)
    runs.update_run(store, run_id, heartbeat=_ago(3600))
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # as a long import does
    with Heartbeat(store.path, "runs", run_id, every_s=0.05) as beat:
        wait_for(lambda: beat.missed >= 3, "the heartbeat never met the held lock")
        assert beat.beats == 0 and "locked" in beat.last_error
        other.execute("ROLLBACK")
        wait_for(lambda: beat.beats >= 1, "the heartbeat died instead of beating again")
    stamp = datetime.fromisoformat(runs.get_run(store, run_id).heartbeat)
    assert stamp > datetime.now(UTC) - timedelta(seconds=60)


def test_a_run_row_round_trips_through_the_model(store):
    """What a run records comes back as it went in: settings, dataset counts, speed options and
    final metrics (an integer stays an integer, as `status --json` printed it before)."""
    from core.schema import RunConfig
    from storage.service import status

    config = RunConfig(
        train={"learning_rate": 1e-4, "beta": 0.1, "granularity": "step"}, base_model="models/tiny"
    )
    run_id = runs.create_run(store, config, log_path="runs/run-1/train.log")
    runs.start_run(store, run_id, 12345)
    metrics = {"eval_rewards/accuracies": 0.75, "epoch": 1, "train_runtime": 3.5}
    dataset = {"train_pairs": 3, "validation_pairs": 1, "label_policy": "majority"}
    runs.end_run(
        store,
        run_id,
        "finished",
        adapter_path="runs/run-1/adapter",
        final_metrics=metrics,
        options={"device": "cpu", "bf16": False, "liger": None},
        dataset=dataset,
        step=4,
        max_steps=4,
        stage="done",
    )
    row = runs.get_run(store, run_id)
    assert row is not None and row.config == config and row.final_metrics == metrics
    assert type(row.final_metrics["epoch"]) is int and row.dataset == dataset
    assert row.options == {"device": "cpu", "bf16": False, "liger": None}
    assert (row.status, row.shown_status, row.step, row.max_steps, row.pid) == (
        "finished",
        "finished",
        4,
        4,
        12345,
    )
    assert (row.log_path, row.adapter_path, row.stage, row.error) == (
        "runs/run-1/train.log",
        "runs/run-1/adapter",
        "done",
        None,
    )
    assert row.created_at and row.finished_at and row.heartbeat
    stored = store.db.execute("SELECT config, final_metrics FROM runs WHERE id = ?", [run_id]).fetchone()
    assert json.loads(stored[0]) == {"train": config.train, "base_model": "models/tiny"}
    assert stored[1] == json.dumps(metrics)
    assert status(store)["runs"] == [
        {"id": run_id, "status": "finished", "adapter_path": "runs/run-1/adapter", "final_metrics": metrics}
    ]
    assert list(runs.list_runs(store)) == [row]


def test_a_stop_signal_asks_the_job_to_stop_and_the_handlers_come_back_after():
    import os
    import signal

    from storage.jobs import StopOnSignal

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    told = []
    with StopOnSignal(lambda: told.append("stop"), interrupt_twice=True) as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        wait_for(stop.is_set, "SIGTERM did not ask the job to stop")
        assert told == ["stop"]
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C does not wait for the step to end
            os.kill(os.getpid(), signal.SIGINT)
            wait_for(lambda: False, "the second Ctrl-C did not interrupt", timeout_s=5)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
