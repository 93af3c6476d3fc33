"""The Train screen drives real background runs: start from the form, follow, cancel, resume."""

from datetime import UTC, datetime, timedelta

import pytest
from textual.widgets import DataTable, Input, RichLog, Static

from core.schema import RunConfig, TrainRun
from storage import runs
from storage.jobs import job_process_alive
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
    return row.shown_status, row


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
        assert stored.config.train["max_steps"] == 3 and stored.config.train["batch_size"] == 2
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
        await wait_until(pilot, lambda: status_of(ws, run_id)[1].step >= 2)
        table = app.screen.query_one("#runs-table", DataTable)
        table.move_cursor(row=[r[0] for r in table_cells(app.screen)].index(run_id))
        await pilot.press("c")  # a single press only asks
        assert any("press c again" in n.message for n in app._notifications)
        assert status_of(ws, run_id)[0] == "running"
        await pilot.press("c")
        await wait_until(pilot, lambda: status_of(ws, run_id)[0] == "cancelled")
        stopped = status_of(ws, run_id)[1].step
        assert stopped < 40
        # A run's process outlives its `cancelled` (it exits after saving), and a live one is
        # never resumed: on a loaded machine that takes longer than a screen refresh.
        await wait_until(pilot, lambda: not job_process_alive(status_of(ws, run_id)[1]), timeout=120)
        await pilot.pause(1.2)  # the screen refreshes: resume becomes possible
        await pilot.press("R")
        await wait_until(pilot, lambda: status_of(ws, run_id)[0] == "finished")
        assert status_of(ws, run_id)[1].step == 40
        log = (ws.runs_dir / run_id / "train.log").read_text()
        assert f"resuming run {run_id} from checkpoint-{stopped}" in log


async def test_a_run_that_stopped_beating_shows_as_lost_with_its_log(ws):
    with ws.store() as store:
        run_id = runs.create_run(store, RunConfig(train={"learning_rate": 1e-4}))
        stale = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
        runs.update_run(store, run_id, status="running", pid=2**22 + 4321, heartbeat=stale)
        failed = runs.create_run(store)
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
        runs.end_run(store, runs.create_run(store, RunConfig(train={})), "failed", error="boom")
        listed = runs.list_runs(store)
        # every column serialises, as it is
        assert [TrainRun.model_validate_json(r.model_dump_json()) for r in listed] == listed


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


def table_lines(screen) -> list[str]:
    """The runs table as drawn: its header and the rows on screen."""
    table = screen.query_one("#runs-table", DataTable)
    return [table.render_line(y).text for y in range(table.size.height)]


@pytest.fixture
def quick_ws(tmp_path):
    """Decided pairs, no model: runs are rows made by hand (nothing trains)."""
    from storage import service
    from tests.tui.conftest import build_workspace

    quick = build_workspace(tmp_path / "ws", rollouts=8)
    with quick.store() as store:
        service.auto_label(store)
    return quick


def finished_run(ws, run_id: str, steps: int = 20) -> str:
    with ws.store() as store:
        runs.create_run(store, RunConfig(train={"learning_rate": 1e-4}), run_id)
        for step in range(1, steps + 1):
            metrics = {"loss": 0.7 - 0.01 * step, "rewards/accuracies": 0.5 + 0.02 * step}
            runs.record_metrics(
                store, run_id, step, step / 4, "train", {**metrics, "rewards/margins": 0.02 * step}
            )
            if step % 5 == 0:
                runs.record_metrics(store, run_id, step, step / 4, "eval", metrics)
        runs.end_run(store, run_id, "finished", step=steps, max_steps=steps)
    return run_id


async def test_status_words_are_never_cut_and_long_ids_end_in_an_ellipsis(quick_ws):
    import os

    long_id = "sweep-learning-rate-5e-4-beta-0.1"
    with quick_ws.store() as store:
        runs.create_run(store, RunConfig(train={}), long_id)
        queued = runs.create_run(store, RunConfig(train={}), "run-1")
    app = make_app(quick_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        header, *rows = table_lines(app.screen)
        # Only `queued` so far, yet the column already holds the longest status word.
        assert header.index("step") - header.index("status") > len("cancelled")
        assert any("sweep-learning-rate-5e-…" in row for row in rows), rows
        with quick_ws.store() as store:
            runs.start_run(store, queued, os.getpid())
            runs.end_run(store, long_id, "cancelled")
        await wait_until(
            pilot, lambda: any(" running " in row for row in table_lines(app.screen)), timeout=10
        )
        assert any(" cancelled " in row for row in table_lines(app.screen))


async def test_the_cursor_goes_to_the_run_the_form_started(quick_ws, monkeypatch):
    import storage.training
    import tui.launch

    for run_id in ("run-1", "run-2", "run-3"):
        finished_run(quick_ws, run_id, steps=2)

    def launch(ws, overrides, resume=None):  # a queued row, as the detached process would make
        with ws.store() as store:
            return runs.create_run(store, RunConfig(train={}))

    monkeypatch.setattr(storage.training, "plan_run", lambda *args: None)
    monkeypatch.setattr(tui.launch, "launch_training", launch)
    app = make_app(quick_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t", "down", "down")
        assert app.screen.selected.id == "run-1"
        await pilot.press("n")
        assert isinstance(app.screen, NewRunScreen)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(table_cells(app.screen)) == 4, timeout=10)
        await pilot.pause()
        assert app.screen.selected.id == "run-4"
        assert app.screen.query_one("#runs-table", DataTable).cursor_row == 0


async def test_curves_have_room_at_80x24_and_their_legend_is_outside_the_data(quick_ws):
    from textual_plotext import PlotextPlot

    finished_run(quick_ws, "run-1")
    app = make_app(quick_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        for curve in ("#loss-curve", "#reward-curve"):
            legend = screen.query_one(f"{curve} .curves-legend", Static)
            plot = screen.query_one(f"{curve} PlotextPlot", PlotextPlot)
            assert plot.region.height >= 10  # a frame, ticks, and most of it data
            assert legend.region.bottom <= plot.region.y  # named above the chart, not on it
        legend = str(screen.query_one("#loss-curve .curves-legend", Static).render())
        assert "loss" in legend and "val loss" in legend
        log = screen.query_one("#run-log", RichLog)
        assert not log.display or log.region.height == 0  # short screen: the curves have the room
        await pilot.press("o")  # the log in their place, and back
        await pilot.pause()
        assert log.region.height > 5 and screen.query_one("#curves").region.height == 0
        await pilot.press("o")
        await pilot.pause()
        assert screen.query_one("#curves").region.height >= 11

    app = make_app(quick_ws.root)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert app.screen.query_one("#run-log", RichLog).region.height > 5
        assert app.screen.query_one("#loss-curve PlotextPlot").region.height > 10
        assert not app.screen.check_action("swap_log", ())  # both shown: no key to swap them


@pytest.mark.parametrize(
    ("steps", "ticks"),
    [
        ([1, 12], [1, 4, 7, 10, 12]),
        ([1, 30], [1, 9, 17, 25, 30]),
        ([3], [3]),
        ([0, 100], [0, 25, 50, 75, 100]),
    ],
)
def test_curves_tick_whole_steps(steps, ticks):
    from tui.widgets.curves import integer_ticks

    assert integer_ticks(steps) == ticks
