"""`eval` through the real command line, after a real (short) training run on the demo."""

import json

import pytest

from storage import evals, runs
from tests.tui.conftest import build_workspace
from tui.cli import main


def test_the_headless_loop_ends_in_the_documented_json(looped_ws):
    result, tasks = looped_ws["result"], looped_ws["tasks"]
    assert result["run_id"] == "run-1" and result["tasks"] == tasks
    assert result["n"] == {"before": 4, "after": 4}
    assert set(result["pass_rate"]) >= {"before", "after"}
    assert "tests.never_run" in result["modes"] and "loop.repeat" in result["modes"]
    assert result["n_pairs"] == 4  # both sides ran the same (task, seed)s, so every rollout pairs
    keys = {"before", "after", "diff", "ci_diff", "p_value", "p_value_adjusted", "discordant", "method"}
    for entry in result["modes"].values():
        assert keys <= set(entry)
        lo, hi = entry["ci_diff"]
        assert -1 <= lo <= entry["diff"] <= hi <= 1
        assert 0 <= entry["p_value"] <= entry["p_value_adjusted"] <= 1
        assert entry["method"] == "mcnemar-exact+holm; task-bootstrap-95"
        b, c = entry["discordant"]
        assert entry["diff"] == pytest.approx(entry["after"] - entry["before"]) == pytest.approx((c - b) / 4)
    assert result["pass_rate"]["p_value_adjusted"] == result["pass_rate"]["p_value"]


def test_both_sides_ran_the_same_seeds_and_are_tagged(looped_ws):
    ws, result = looped_ws["ws"], looped_ws["result"]
    with ws.store() as store:
        before = evals.summaries(store, result["eval_id"], "before")
        after = evals.summaries(store, result["eval_id"], "after")
        policies = {
            r[0]
            for r in store.db.execute("SELECT policy FROM rollouts WHERE eval_id = ?", [result["eval_id"]])
        }
        training_rollouts = store.scalar(
            "SELECT count(*) FROM rollouts WHERE eval_id IS NULL AND parent_id IS NULL"
        )
    assert sorted((s.task_id, s.seed) for s in before) == sorted((s.task_id, s.seed) for s in after)
    assert policies == {result["policies"]["before"], result["policies"]["after"]}
    assert result["policies"]["after"].endswith("+run-1") and "+" not in result["policies"]["before"]
    assert training_rollouts == 32  # eval rollouts are not mixed into the training data


def test_the_rates_are_the_stored_rollouts_counted_again(looped_ws):
    ws, result = looped_ws["ws"], looped_ws["result"]
    with ws.store() as store:
        for side in ("before", "after"):
            rows = evals.summaries(store, result["eval_id"], side)
            for mode, entry in result["modes"].items():
                assert entry[side] == pytest.approx(sum(mode in r.flags for r in rows) / len(rows))
            passed = sum(bool(r.tests_passed) for r in rows) / len(rows)
            assert result["pass_rate"][side] == pytest.approx(passed)


def test_show_prints_a_finished_eval_as_json_and_markdown(looped_ws, capsys):
    ws, result = looped_ws["ws"], looped_ws["result"]
    capsys.readouterr()
    assert main(["eval", "-w", str(ws.root), "--show", result["eval_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == result
    assert main(["eval", "-w", str(ws.root), "--show", result["eval_id"], "--markdown"]) == 0
    text = capsys.readouterr().out
    assert "| Mode |" in text and "tests.never_run" in text


def test_eval_without_a_finished_run_is_refused(tmp_path, capsys):
    ws = build_workspace(tmp_path / "ws")
    assert main(["eval", "-w", str(ws.root)]) == 2
    assert "no finished training run" in capsys.readouterr().err
    assert main(["eval", "-w", str(ws.root), "--run", "run-9"]) == 2
    assert "no run run-9" in capsys.readouterr().err
    assert main(["eval", "-w", str(ws.root), "--show", "eval-4"]) == 2
    with ws.store() as store:
        assert evals.list_evals(store) == [] and runs.list_runs(store) == []


def test_eval_of_a_run_that_did_not_finish_is_refused(looped_ws, capsys):
    ws = looped_ws["ws"]
    with ws.store() as store:
        runs.create_run(store, None, "half")
        runs.end_run(store, "half", "cancelled")
    assert main(["eval", "-w", str(ws.root), "--run", "half"]) == 2
    assert "only a finished run" in capsys.readouterr().err


def test_a_queued_eval_that_cannot_start_says_why(tmp_path, capsys):
    ws = build_workspace(tmp_path / "ws")
    with ws.store() as store:
        eval_id = evals.create_eval(store, None)
    assert main(["eval", "-w", str(ws.root), "--eval-id", eval_id]) == 2
    with ws.store() as store:
        row = evals.get_eval(store, eval_id)
    assert row.status == "failed" and "no finished training run" in row.error


def test_a_run_refers_to_its_files_relative_to_the_workspace(looped_ws):
    ws = looped_ws["ws"]
    with ws.store() as store:
        run = runs.get_run(store, "run-1")
    assert run.adapter_path == "runs/run-1/adapter" and run.config.base_model == "models/tiny"
    assert (ws.from_stored(run.adapter_path) / "adapter_config.json").is_file()


def test_eval_works_with_a_relative_workspace_path(looped_ws, monkeypatch, capsys):
    ws, tasks = looped_ws["ws"], looped_ws["tasks"]
    monkeypatch.chdir(ws.root.parent)
    capsys.readouterr()
    assert main(["eval", "-w", ws.root.name, "--n", "1", "--tasks", tasks[0], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == {"before": 1, "after": 1}


def test_an_eval_with_the_same_base_side_reuses_its_rollouts(looped_ws, capsys):
    ws, task = looped_ws["ws"], looped_ws["tasks"][0]
    common = ["eval", "-w", str(ws.root), "--n", "1", "--tasks", task, "--seed", "11", "--json"]

    def run(*extra: str) -> dict:
        capsys.readouterr()
        assert main([*common, *extra]) == 0
        return json.loads(capsys.readouterr().out)

    def stored(eval_id: str) -> int:
        with ws.store() as store:
            return store.scalar("SELECT count(*) FROM rollouts WHERE eval_id = ?", [eval_id])

    first, second = run(), run()
    assert first["reused_before_from"] is None and second["reused_before_from"] == first["eval_id"]
    assert stored(first["eval_id"]) == 2 and stored(second["eval_id"]) == 1  # only the tuned side ran
    assert second["n"] == first["n"] == {"before": 1, "after": 1}
    assert second["pass_rate"]["before"] == first["pass_rate"]["before"]
    assert {m: e["before"] for m, e in second["modes"].items()} == {
        m: e["before"] for m, e in first["modes"].items()
    }
    with ws.store() as store:
        row = evals.get_eval(store, second["eval_id"])
        before = [s.id for s in evals.summaries(store, second["eval_id"], "before")]
        assert before == [s.id for s in evals.summaries(store, first["eval_id"], "before")]
    assert row.config.before_from == first["eval_id"] and row.config.base_key
    assert row.done == row.total == 1  # progress counts only what ran

    fresh = run("--fresh")
    assert fresh["reused_before_from"] is None and stored(fresh["eval_id"]) == 2
    for changed in (["--seed", "12"], ["--n", "2"]):
        other = run(*changed)
        assert other["reused_before_from"] is None
        assert stored(other["eval_id"]) == 2 * other["n"]["before"]


def test_piped_progress_is_plain_lines_on_stderr_and_stdout_stays_json(looped_ws, capsys):
    """Stderr redirected (as here): a bar would draw nothing for minutes; plain lines instead."""
    ws, task = looped_ws["ws"], looped_ws["tasks"][0]
    capsys.readouterr()
    assert main(["eval", "-w", str(ws.root), "--n", "2", "--tasks", task, "--fresh", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["n"] == {"before": 2, "after": 2}  # stdout: the JSON alone
    lines = [line for line in captured.err.splitlines() if line.startswith("eval: ")]
    assert lines[0] == "eval: base 0/2 rollouts" and "eval: base 2/2 rollouts" in lines
    assert lines[-1] == "eval: base + run-1 2/2 rollouts"


def test_piped_progress_comes_every_tenth_or_every_ten_seconds():
    import io

    from rich.console import Console

    from tui.cli.evaluate import PlainProgress

    def lines_for(seconds_per_rollout: float) -> list[str]:
        console = Console(file=io.StringIO(), width=40)
        now = [0.0]
        report = PlainProgress(console, clock=lambda: now[0])
        for side in ("base", "base + run-1"):
            report(side, 0, 64)
            for done in range(1, 65):
                now[0] += seconds_per_rollout
                report(side, done, 64)
        return console.file.getvalue().splitlines()

    fast = lines_for(0.1)  # a line each tenth of the way (every 7 of 64), and the last
    assert fast[:3] == ["eval: base 0/64 rollouts", "eval: base 7/64 rollouts", "eval: base 14/64 rollouts"]
    assert fast[-1] == "eval: base + run-1 64/64 rollouts" and len(fast) == 2 * 11
    slow = lines_for(30.0)  # a rollout every 30 s: each one is worth a line
    assert len(slow) == 2 * 65
