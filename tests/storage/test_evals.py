from core.schema import EvalConfig
from storage import evals, runs
from storage.store import Store
from tests.tui.conftest import build_workspace


def tag(store, ids, policy, exit_status=None):
    for rollout_id in ids:
        store.db.execute("UPDATE rollouts SET eval_id = 'e1', policy = ? WHERE id = ?", [policy, rollout_id])
        if exit_status:
            store.db.execute("UPDATE rollouts SET exit_status = ? WHERE id = ?", [exit_status, rollout_id])


def make_eval(tmp_path, error_after=0):
    ws = build_workspace(tmp_path / "ws")
    store = Store(ws.db_path)
    ids = [r[0] for r in store.db.execute("SELECT id FROM rollouts ORDER BY id")]
    tag(store, ids[:10], "base")
    tag(store, ids[10:20], "tuned")
    tag(store, ids[10 : 10 + error_after], "tuned", "policy_error")
    runs.create_run(store, None, "r1")
    evals.create_eval(store, "r1", EvalConfig(before_policy="base", after_policy="tuned"), "e1")
    return store


def test_comparison_counts_each_side_and_leaves_out_disabled_checks(tmp_path):
    store = make_eval(tmp_path)
    result = evals.comparison(store, "e1", disabled=["evidence.uncited"])
    assert result["n"] == {"before": 10, "after": 10}
    assert "evidence.uncited" not in result["modes"] and "tests.never_run" in result["modes"]
    assert result["policy_errors"] == {"before": 0, "after": 0}
    flagged = [s for s in evals.summaries(store, "e1", "after", "tests.never_run")]
    assert result["modes"]["tests.never_run"]["count_after"] == len(flagged)


def test_policy_errors_are_counted_and_warned_about_first(tmp_path):
    store = make_eval(tmp_path, error_after=4)
    result = evals.comparison(store, "e1")
    assert result["policy_errors"] == {"before": 0, "after": 4}
    assert result["warnings"][0].startswith("4 of 10 after rollouts ended in a policy error")


def test_eval_ids_are_checked(tmp_path):
    store = make_eval(tmp_path)
    import pytest

    with pytest.raises(ValueError, match="use letters"):
        evals.create_eval(store, "r1", None, "a b/../c")


def test_a_base_side_is_fingerprinted_from_a_source_tree_that_was_never_installed(tmp_path, monkeypatch):
    # A copied checkout on a GPU box runs from PYTHONPATH: there is no package metadata to read.
    from importlib import metadata

    from core.config import Config, PolicyConfig

    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    key = evals.base_key(PolicyConfig(), tmp_path, [], 1, 0, Config())
    monkeypatch.setattr(metadata, "version", not_installed)
    from_source = evals.base_key(PolicyConfig(), tmp_path, [], 1, 0, Config())
    assert from_source is not None and from_source != key


EVAL_JSON_KEYS = [
    "eval_id",
    "run_id",
    "tasks",
    "n_per_task",
    "seed",
    "policies",
    "reused_before_from",
    "policy_errors",
    "n",
    "n_pairs",
    "modes",
    "overall",
    "pass_rate",
    "means",
    "warnings",
]
MODE_KEYS = [
    "before",
    "after",
    "diff",
    "ci_before",
    "ci_after",
    "ci_diff",
    "p_value",
    "count_before",
    "count_after",
    "discordant",
    "p_value_adjusted",
    "significant",
    "verdict",
    "method",
]


def test_the_eval_json_document_keeps_its_keys_and_survives_the_row(tmp_path):
    """`eval --json` prints the result stored on the row (or recomputes it): the keys, in their
    order, are the README's promise; storing and reading the row changes nothing in it."""
    import json

    store = make_eval(tmp_path)
    result = evals.comparison(store, "e1")
    assert list(result) == EVAL_JSON_KEYS
    assert all(list(entry) == MODE_KEYS for entry in result["modes"].values())
    assert list(result["overall"]) == MODE_KEYS and list(result["means"]) == ["steps", "diff_lines", "score"]
    assert result["policies"] == {"before": "base", "after": "tuned"} and result["reused_before_from"] is None
    evals.end_eval(store, "e1", "finished", result=result, stage="done")
    row = evals.get_eval(store, "e1")
    assert json.dumps(row.result, indent=2) == json.dumps(result, indent=2)
    assert (row.status, row.shown_status, row.stage, row.run_id) == ("finished", "finished", "done", "r1")
    assert row.config == EvalConfig(before_policy="base", after_policy="tuned")
    listed = evals.list_evals(store)  # light rows: no result parsed
    assert [e.id for e in listed] == ["e1"] and listed[0].result == {} and listed[0].config == row.config
