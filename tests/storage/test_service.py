import subprocess
import sys
import textwrap

from bench import synthetic
from core.chat import Rendering
from core.config import Config
from core.granularity import Granularity
from core.schema import Decision, Preference, PreferenceSource
from storage import service
from storage.ingest import import_files


def loaded(store, tmp_path, count=64):
    import_files(store, [synthetic.write_jsonl(tmp_path / "r.jsonl", count, seed=11)], Config())
    return store


def test_mine_rescores_from_the_current_weights(store, tmp_path):
    loaded(store, tmp_path)
    with_flag = store.scalar("SELECT count(*) FROM flags WHERE check_id = 'tests.never_run'")
    assert with_flag > 0
    config = Config.model_validate({"checks": {"weights": {"tests.never_run": 100.0}}})
    result = service.mine_proposals(store, config)
    assert result.rescored == with_flag
    assert store.scalar("SELECT min(score) FROM rollouts WHERE flags LIKE '%tests.never_run%'") >= 100
    # Disabling a check removes its weight from scores too.
    disabled = Config.model_validate({"checks": {"disabled": ["tests.never_run"], "weights": {}}})
    service.mine_proposals(store, disabled)
    for rollout_id, flags, score in store.db.execute("SELECT id, flags, score FROM rollouts"):
        kept = [f for f in flags.split() if f != "tests.never_run"]
        assert score == sum(disabled.checks.weight(f) for f in kept), rollout_id


def test_auto_label_leaves_human_decisions_alone(store, tmp_path):
    loaded(store, tmp_path)
    service.mine_proposals(store, Config())
    first = store.pairs()[0]
    store.record_preference(Preference(pair_id=first.id, decision=Decision.BOTH_BAD))
    accepted = service.auto_label(store)
    assert accepted == len(store.pairs()) - 1
    auto = store.preferences(PreferenceSource.AUTO)
    assert first.id not in {p.pair_id for p in auto}
    assert all(p.chosen_id for p in auto)


def test_status_counts(store, tmp_path):
    loaded(store, tmp_path, count=32)
    service.mine_proposals(store, Config())
    service.auto_label(store)
    doc = service.status(store)
    assert doc["rollouts"] == 32 and doc["tasks"] == 4
    assert doc["preferences"]["auto"] == doc["proposals"] > 0
    assert doc["preferences_by_decision"]["auto"] == {"prefer": doc["proposals"]}
    flagged = store.scalar("SELECT count(DISTINCT rollout_id) FROM flags WHERE check_id = 'loop.repeat'")
    assert doc["flag_rates"]["loop.repeat"] == flagged / 32


def test_a_decision_survives_kill_9_right_after_it_is_made(store, tmp_path):
    loaded(store, tmp_path, count=16)
    service.mine_proposals(store, Config())
    pair = store.pairs()[0]
    script = textwrap.dedent(
        f"""
        import os, signal
        from core.schema import Decision, Preference
        from storage.store import Store
        store = Store({str(store.path)!r})
        store.record_preference(Preference(pair_id={pair.id}, decision=Decision.PREFER,
                                           chosen_id={pair.rejected_id!r}, note="kept"))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -9
    kept = store.preferences()
    assert [(p.pair_id, p.chosen_id, p.note) for p in kept] == [(pair.id, pair.rejected_id, "kept")]


def test_status_reports_the_honest_pass_rate_and_the_own_tests_one(store, tmp_path):
    loaded(store, tmp_path, count=32)
    passed = store.scalar("SELECT count(*) FROM rollouts WHERE tests_passed = 1")
    weakened = store.scalar("SELECT id FROM rollouts WHERE tests_passed = 0 LIMIT 1")
    with store.write():  # passed only with its own (weakened) tests
        store.db.execute("UPDATE rollouts SET tests_passed_own = 1 WHERE id = ?", [weakened])
    doc = service.status(store)
    assert doc["tests_passed_rate"] == passed / 32
    assert doc["pass_rate_own_tests"] == (passed + 1) / 32  # unknown own outcome: the one known


def _calls(*pairs):
    from core.schema import Observation, Step, ToolCall

    return [
        Step(index=i, tool_call=ToolCall(name=name, arguments=args), observation=Observation(content=seen))
        for i, (name, args, seen) in enumerate(pairs)
    ]


def test_mining_pairs_siblings_at_the_step_a_flag_points_at_and_names_both_actions(store):
    from core.schema import Rollout, Task
    from storage.ingest import RolloutSink

    store.upsert_task(Task(id="t", instruction="fix", allowed_globs=["src/**"]))
    read = ("read_file", {"path": "src/a.py"}, "x = 1")
    tests = ("run_tests", {}, "1 passed in 0.01s")
    good = _calls(read, ("edit", {"path": "src/a.py", "old": "1", "new": "2"}, "Edited"), tests)
    bad = _calls(read, ("edit", {"path": "README.md", "old": "a", "new": "b"}, "Edited"), tests)
    sink = RolloutSink(store, Config())
    for steps, seed in ((good, 1), (bad, 2)):
        sink(
            Rollout(
                task_id="t", policy="p", seed=seed, steps=steps, exit_status="submitted", tests_passed=True
            )
        )
    result = service.mine_proposals(store, Config())
    assert (result.proposals, result.anchored) == (1, 1)
    (pair,) = store.pairs()
    assert (pair.kind.value, pair.step) == ("anchored", 1)
    assert store.rollout(pair.rejected_id).steps[1].tool_call.arguments["path"] == "README.md"
    assert pair.reason.startswith("step 2: A `")
    assert "outside the allowed files" in pair.reason
    # The training row names what it teaches (read by `[train] loss_tokens = "lesson"`).
    service.auto_label(store)
    (row,) = service.dataset_rows(store, Granularity.STEP, Rendering())
    assert row["lessons"] == ["files.outside_allowed"]
    # A point named by its step is named after the heaviest lesson there (the branch tries its
    # remedy first): the same one every time, not whichever a set yields.
    bad_id = store.pairs()[0].rejected_id
    at_edit = {f.check for f in store.rollout(bad_id).flags if f.anchor == 1}
    assert "files.outside_allowed" in at_edit and len(at_edit) > 1
    (point,) = service.branch_points(store, Config(), rollout_id=bad_id, step=1)
    assert point.check == "files.outside_allowed"
