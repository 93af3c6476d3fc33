"""The Train screen drives real background runs: start from the form, follow, cancel, resume."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import DataTable, Input, RichLog, Static

from storage import runs
from tests.tui.conftest import build_train_workspace, wait_until
from tui.app import make_app
from tui.launch import launch_training
from tui.screens.new_run import NewRunScreen
from tui.screens.train import TrainScreen

QUICK = ["batch_size=2", "save_steps=1000", "max_length=512"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build_train_workspace(tmp_path_factory.mktemp("screen") / "ws")


def status_of(ws, run_id):
    with ws.store() as store:
        row = runs.get_run(store, run_id)
    return row["shown_status"], row


def table_cells(screen):
    table = screen.query_one("#runs-table", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_form_starts_a_detached_run_that_the_screen_follows_to_the_end(ws):
    app = make_app(ws.root)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("t")
        assert isinstance(app.screen, TrainScreen)
        earlier = {r[0] for r in table_cells(app.screen)}  # other tests' runs, whatever their order
        await pilot.press("n")
        assert isinstance(app.screen, NewRunScreen)
        counts = app.screen.query_one("#new-run-counts", Static)
        await wait_until(pilot, lambda: "will train on" in str(counts.render()))
        app.screen.query_one("#field-max_steps", Input).value = "3"
        app.screen.query_one("#field-batch_size", Input).value = "2"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, TrainScreen)
        await wait_until(
            pilot, lambda: any(r[1] == "finished" and r[0] not in earlier for r in table_cells(app.screen))
        )
        row = next(r for r in table_cells(app.screen) if r[1] == "finished" and r[0] not in earlier)
        assert row[2] == "3/3"
        _, stored = status_of(ws, row[0])
        assert stored["config"]["train"]["max_steps"] == 3 and stored["config"]["train"]["batch_size"] == 2
        assert (ws.runs_dir / row[0] / "adapter" / "adapter_config.json").is_file()
        table = app.screen.query_one("#runs-table", DataTable)
        table.move_cursor(row=[r[0] for r in table_cells(app.screen)].index(row[0]))
        await pilot.pause(1.2)
        lines = [strip.text for strip in app.screen.query_one("#run-log", RichLog).lines]
        assert any("finished after 3 steps" in line for line in lines)
        await pilot.press("enter")  # the model card
        assert type(app.screen).__name__ == "RunSummaryScreen"


async def test_a_bad_setting_is_shown_in_the_form_and_starts_nothing(ws):
    app = make_app(ws.root)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("t", "n")
        before = len(table_cells(app.screen_stack[-2]))
        app.screen.query_one("#field-learning_rate", Input).value = "fast"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, NewRunScreen)
        assert "learning_rate" in str(app.screen.query_one("#new-run-error", Static).render())
        await pilot.press("escape")
        assert len(table_cells(app.screen)) == before


async def test_cancel_and_resume_from_the_keyboard(ws):
    run_id = launch_training(ws, ["max_steps=40", *QUICK])
    app = make_app(ws.root)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("t")
        await wait_until(pilot, lambda: status_of(ws, run_id)[1]["step"] >= 2)
        table = app.screen.query_one("#runs-table", DataTable)
        table.move_cursor(row=[r[0] for r in table_cells(app.screen)].index(run_id))
        await pilot.press("c")  # a single press only asks
        assert any("press c again" in n.message for n in app._notifications)
        assert status_of(ws, run_id)[0] == "running"
        await pilot.press("c")
        await wait_until(pilot, lambda: status_of(ws, run_id)[0] == "cancelled")
        stopped = status_of(ws, run_id)[1]["step"]
        assert stopped < 40
        await pilot.pause(1.2)  # the screen refreshes: resume becomes possible
        await pilot.press("R")
        await wait_until(pilot, lambda: status_of(ws, run_id)[0] == "finished")
        assert status_of(ws, run_id)[1]["step"] == 40
        log = (ws.runs_dir / run_id / "train.log").read_text()
        assert f"resuming run {run_id} from checkpoint-{stopped}" in log


async def test_a_run_that_stopped_beating_shows_as_lost_with_its_log(ws):
    with ws.store() as store:
        run_id = runs.create_run(store, {"train": {"learning_rate": 1e-4}})
        stale = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
        runs.update_run(store, run_id, status="running", pid=2**22 + 4321, heartbeat=stale)
        failed = runs.create_run(store, {})
        runs.end_run(
            store, failed, "failed", error="Traceback ...\nOSError: [Errno 28] No space left on device"
        )
    app = make_app(ws.root)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("t")
        cells = {r[0]: r[1] for r in table_cells(app.screen)}
        assert cells[run_id] == "lost" and cells[failed] == "failed"
        table = app.screen.query_one("#runs-table", DataTable)
        table.move_cursor(row=[r[0] for r in table_cells(app.screen)].index(failed))
        await pilot.pause()
        assert "No space left on device" in str(app.screen.query_one("#run-summary", Static).render())
        log_lines = [strip.text for strip in app.screen.query_one("#run-log", RichLog).lines]
        assert any("No space left" in line for line in log_lines)


def test_runs_table_json_is_stable(ws):
    with ws.store() as store:
        runs.end_run(store, runs.create_run(store, {"train": {}}), "failed", error="boom")
        listed = runs.list_runs(store)
        assert json.loads(json.dumps(listed)) == listed  # every column serialises, as it is


async def test_a_run_that_cannot_start_says_why_on_the_screen(tmp_path):
    """The screen's worker fails (no model to train): the reason is shown, once."""
    from storage import service
    from tests.tui.conftest import build_workspace

    bare = build_workspace(tmp_path / "ws")  # decided pairs, but no model on disk
    with bare.store() as store:
        service.auto_label(store)
    app = make_app(bare.root)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("t")
        await pilot.press("n")
        await pilot.press("ctrl+s")
        await wait_until(
            pilot, lambda: any("starting the run failed" in n.message for n in app._notifications)
        )
        failures = [n.message for n in app._notifications if "failed" in n.message]
        assert len(failures) == 1 and "does not exist" in failures[0], failures


async def test_a_screen_out_of_sight_stops_reading_the_database(ws, monkeypatch):
    calls = []
    refresh = TrainScreen.refresh_runs
    monkeypatch.setattr(TrainScreen, "refresh_runs", lambda self: calls.append(1) or refresh(self))
    app = make_app(ws.root)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("t")
        await wait_until(pilot, lambda: len(calls) >= 2)  # polling while shown
        await pilot.press("v")  # the evaluations screen goes on top; the train screen stays below
        await pilot.pause(0.2)
        assert isinstance(app.screen_stack[-2], TrainScreen)
        hidden = len(calls)
        await pilot.pause(2.5)  # two and a half ticks out of sight
        assert len(calls) == hidden, (hidden, len(calls), app.screen_stack)
        await pilot.press("t")
        await wait_until(pilot, lambda: len(calls) >= hidden + 2)  # polling again
