"""The look of each screen at 80x24 and 160x48 (pytest-textual-snapshot).

Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and review the SVGs. The workspace is built from a fixed seed at a relative path, so nothing
on screen depends on the machine.
"""

from pathlib import Path

import pytest

from storage.workspace import Workspace
from tests.tui.conftest import build_workspace
from tui.app import make_app

SIZES = [(80, 24), (160, 48)]


@pytest.fixture(autouse=True)
def annotator(monkeypatch):
    """The labelling screen shows who is labelling: not the login of whoever runs the tests."""
    monkeypatch.setenv("AGENTPREF_ANNOTATOR", "tester")


@pytest.fixture
def ws_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    build_workspace(Path("ws"))  # relative: source paths on screen do not depend on the machine
    return "ws"


@pytest.mark.parametrize("size", SIZES)
def test_label_screen(snap_compare, ws_here, size):
    assert snap_compare(make_app(ws_here), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_label_screen_searched(snap_compare, ws_here, size):
    """The instruction unfolded, a search marked on both sides, the right side at its diff."""
    keys = ["e", "slash", *"src/pkg", "enter", "full_stop", "D"]
    assert snap_compare(make_app(ws_here), terminal_size=size, press=keys)


@pytest.mark.parametrize("size", SIZES)
def test_rollouts_screen(snap_compare, ws_here, size):
    assert snap_compare(make_app(ws_here), terminal_size=size, press=["r"])


def test_rollouts_screen_scrolled_sideways(snap_compare, ws_here):
    """The header moves with the rows (at 160 columns the table fits: nothing to scroll)."""
    assert snap_compare(make_app(ws_here), terminal_size=(80, 24), press=["r", *["right"] * 40])


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, ws_here, size):
    assert snap_compare(make_app(ws_here), terminal_size=size, press=["question_mark"])


@pytest.mark.parametrize("size", SIZES)
def test_agreement_screen(snap_compare, ws_here, size):
    """Two annotators who disagree on half their pairs; the report is seeded (fixed intervals)."""
    from tests.tui.conftest import vote

    vote(Workspace.open(Path(ws_here)), "alice", ["proposed", "other", "both_bad", "proposed"] * 3)
    vote(Workspace.open(Path(ws_here)), "bob", ["proposed", "proposed", "both_good", "other"] * 3)

    async def computed(pilot) -> None:  # type: ignore[no-untyped-def]
        from textual.widgets import DataTable

        from tests.tui.conftest import wait_until

        await pilot.press("a")
        await pilot.app.workers.wait_for_complete()
        # The worker's report arrives as a message, and a DataTable sizes its columns when the
        # app is next idle: until then cells are cut to the headers' width.
        screen = pilot.app.screen
        tables = screen.query(DataTable)
        await wait_until(
            pilot,
            lambda: (
                screen.report is not None
                and not any(w.is_running for w in pilot.app.workers)
                and not any(t._require_update_dimensions for t in tables)
            ),
            timeout=60,
        )
        # Sized columns are drawn a frame or two later, later still on a loaded machine: wait
        # until two frames in a row show the same screen.
        previous = None
        for _ in range(100):
            await pilot.pause(0.1)
            shot = pilot.app.export_screenshot()
            if shot == previous:
                break
            previous = shot

    assert snap_compare(make_app(ws_here), terminal_size=size, run_before=computed)


@pytest.mark.parametrize("size", SIZES)
def test_empty_workspace(snap_compare, tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)
    Workspace.create(tmp_path / "empty")
    assert snap_compare(make_app("empty"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_rollout_detail_screen(snap_compare, ws_here, size):
    assert snap_compare(make_app(ws_here), terminal_size=size, press=["r", "enter", "j", "j"])


@pytest.fixture
def ws_with_runs(ws_here):
    from core.schema import RunConfig
    from storage import runs

    ws = Workspace.open(Path(ws_here))
    with ws.store() as store:
        settings = {"learning_rate": 0.0005, "beta": 0.1, "granularity": "step"}
        run_id = runs.create_run(store, RunConfig(train=settings))
        log = Path(ws_here) / "runs" / run_id / "train.log"
        log.parent.mkdir(parents=True)
        log.write_text(
            "".join(
                f"2026-01-01 00:00:{i:02d} step {i} train: loss={0.7 - i * 0.01:.3f}\n" for i in range(1, 13)
            )
        )
        for step in range(1, 13):
            runs.record_metrics(
                store,
                run_id,
                step,
                step / 4,
                "train",
                {
                    "loss": 0.7 - 0.01 * step,
                    "rewards/accuracies": 0.5 + 0.03 * step,
                    "rewards/margins": 0.02 * step,
                },
            )
        runs.end_run(
            store,
            run_id,
            "finished",
            adapter_path="runs/run-1/adapter",
            step=12,
            max_steps=12,
            dataset={"train_pairs": 40, "validation_pairs": 8},
            options={"device": "cpu", "precompute_ref_log_probs": True},
            final_metrics={"eval_rewards/accuracies": 0.75, "eval_rewards/margins": 0.12},
        )
        store.db.execute("UPDATE runs SET created_at = '2026-01-01T00:00:00.000+00:00'")
    return ws_here


@pytest.mark.parametrize("size", SIZES)
def test_train_screen(snap_compare, ws_with_runs, size):
    assert snap_compare(make_app(ws_with_runs), terminal_size=size, press=["t"])


@pytest.fixture
def ws_with_eval(ws_here):
    from core.schema import EvalConfig
    from storage import evals, runs

    ws = Workspace.open(Path(ws_here))
    with ws.store() as store:
        runs.create_run(store, None, "run-1")
        rows = list(store.db.execute("SELECT id, task_id FROM rollouts ORDER BY id"))
        seen: dict[tuple[str, int], int] = {}  # (task, side): rollouts so far
        for index, (rollout_id, task_id) in enumerate(rows):
            side = index % 2
            policy = "scored:tiny" if side == 0 else "scored:tiny+run-1"
            # The k-th rollout of a task on each side shares seed k, as in a real evaluation.
            seed = seen[task_id, side] = seen.get((task_id, side), -1) + 1
            store.db.execute(
                "UPDATE rollouts SET eval_id = 'eval-1', policy = ?, seed = ? WHERE id = ?",
                [policy, seed, rollout_id],
            )
        config = {
            "tasks": ["t0", "t1"],
            "n": 4,
            "seed": 1000,
            "before_policy": "scored:tiny",
            "after_policy": "scored:tiny+run-1",
        }
        evals.create_eval(store, "run-1", EvalConfig(**config), "eval-1")
        evals.end_eval(
            store, "eval-1", "finished", result=evals.comparison(store, "eval-1"), done=48, total=48
        )
        store.db.execute("UPDATE evals SET created_at = '2026-01-01T00:00:00.000+00:00'")
    return ws_here


@pytest.mark.parametrize("size", SIZES)
def test_eval_screen(snap_compare, ws_with_eval, size):
    assert snap_compare(make_app(ws_with_eval), terminal_size=size, press=["v"])


@pytest.mark.parametrize("size", SIZES)
def test_eval_chart(snap_compare, ws_with_eval, size):
    assert snap_compare(make_app(ws_with_eval), terminal_size=size, press=["v", "b"])
