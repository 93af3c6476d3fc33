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
    result = evals.comparison(store, "e1", disabled=["evidence.uncited"]).as_json()
    assert result["n"] == {"before": 10, "after": 10}
    assert "evidence.uncited" not in result["modes"] and "tests.never_run" in result["modes"]
    assert result["policy_errors"] == {"before": 0, "after": 0}
    flagged = [s for s in evals.summaries(store, "e1", "after", "tests.never_run")]
    assert result["modes"]["tests.never_run"]["count_after"] == len(flagged)


def test_policy_errors_are_counted_and_warned_about_first(tmp_path):
    store = make_eval(tmp_path, error_after=4)
    result = evals.comparison(store, "e1").as_json()
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


def test_a_base_side_key_ignores_what_only_an_adapter_uses_and_keeps_what_the_base_samples_with(tmp_path):
    # A sweep of the adapter's weight re-runs only the tuned side; a new sampling temperature,
    # or state notes in the prompt, re-run both.
    from core.config import Config, PolicyConfig

    def key(**policy):
        return evals.base_key(PolicyConfig(**policy), tmp_path, [], 1, 0, Config())

    assert key(adapter_temperature=0.25) == key(adapter_temperature=1.0)
    assert key(adapter_ratio="vocabulary") == key(adapter_ratio="choices")
    assert key(temperature=0.5) != key(temperature=1.0)
    assert key(state_notes=True) != key(state_notes=False)


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
    document = evals.comparison(store, "e1")
    result = document.as_json()
    assert list(result) == EVAL_JSON_KEYS
    assert all(list(entry) == MODE_KEYS for entry in result["modes"].values())
    assert list(result["overall"]) == MODE_KEYS and list(result["means"]) == ["steps", "diff_lines", "score"]
    assert result["policies"] == {"before": "base", "after": "tuned"} and result["reused_before_from"] is None
    evals.end_eval(store, "e1", "finished", result=document, stage="done")
    row = evals.get_eval(store, "e1")
    assert row.result is not None and json.dumps(row.result.as_json(), indent=2) == json.dumps(
        result, indent=2
    )
    assert (row.status, row.shown_status, row.stage, row.run_id) == ("finished", "finished", "done", "r1")
    assert row.config == EvalConfig(before_policy="base", after_policy="tuned")
    listed = evals.list_evals(store)  # light rows: no result parsed
    assert [e.id for e in listed] == ["e1"] and listed[0].result is None and listed[0].config == row.config


# A result as `eval` stored it before the document was typed (trimmed to one mode): it must still
# load, and print back byte for byte.
STORED_RESULT = (
    '{"eval_id": "e1", "run_id": "r1", "tasks": ["t-one"], "n_per_task": 2, "seed": 7, "policies": {"befo'
    're": "base", "after": "tuned"}, "reused_before_from": null, "policy_errors": {"before": 0, "after": '
    '0}, "n": {"before": 10, "after": 10}, "n_pairs": 0, "modes": {"tests.never_run": {"before": 0.2, "af'
    'ter": 0.1, "diff": -0.1, "ci_before": [0.05668215145437519, 0.5098375284633583], "ci_after": [0.0178'
    '76213095072896, 0.4041500267952385], "ci_diff": [-1.0, 1.0], "p_value": 1.0, "count_before": 2, "cou'
    'nt_after": 1, "discordant": [0, 0], "p_value_adjusted": 1.0, "significant": false, "verdict": "uncha'
    'nged", "method": "mcnemar-exact+holm; task-bootstrap-95"}}, "overall": {"before": 1.0, "after": 1.0,'
    ' "diff": 0.0, "ci_before": [0.7224672001371107, 1.0], "ci_after": [0.7224672001371107, 1.0], "ci_dif'
    'f": [-1.0, 1.0], "p_value": 1.0, "count_before": 10, "count_after": 10, "discordant": [0, 0], "p_val'
    'ue_adjusted": 1.0, "significant": false, "verdict": "unchanged", "method": "mcnemar-exact; task-boot'
    'strap-95"}, "pass_rate": {"before": 0.4, "after": 0.4, "diff": 0.0, "ci_before": [0.1681803297062361'
    '4, 0.6873262302663417], "ci_after": [0.16818032970623614, 0.6873262302663417], "ci_diff": [-1.0, 1.0'
    '], "p_value": 1.0, "discordant": [0, 0], "p_value_adjusted": 1.0, "significant": false, "verdict": "'
    'unchanged", "method": "mcnemar-exact; task-bootstrap-95"}, "pass_rate_own_tests": {"before": 0.3, "a'
    'fter": 0.3, "diff": 0.0, "ci_before": [0.10779126740630099, 0.6032218525388546], "ci_after": [0.1077'
    '9126740630099, 0.6032218525388546], "ci_diff": [-1.0, 1.0], "p_value": 1.0, "discordant": [0, 0], "p'
    '_value_adjusted": 1.0, "significant": false, "verdict": "unchanged", "method": "mcnemar-exact; task-'
    'bootstrap-95"}, "means": {"steps": {"before": 31.6, "after": 22.7, "diff": -8.900000000000002}, "dif'
    'f_lines": {"before": 2.7, "after": 3.2, "diff": 0.5}, "score": {"before": 4.4, "after": 5.05, "diff"'
    ': 0.6499999999999995}}, "warnings": ["No rollout has a counterpart with the same task and seed on th'
    'e other side: nothing was tested.", "Mean steps fell by 28% (31.6 -> 22.7) while the pass rate did n'
    'ot rise significantly: the tuned model may be finishing early to dodge flags."]}'
)


def _show_json(tmp_path, capsys, stored):
    from tui.cli import main

    store = make_eval(tmp_path)
    evals.end_eval(store, "e1", "finished", stage="done")
    store.db.execute("UPDATE evals SET result = ? WHERE id = 'e1'", [stored])
    row = evals.get_eval(store, "e1")
    capsys.readouterr()
    assert main(["eval", "-w", str(tmp_path / "ws"), "--show", "e1", "--json"]) == 0
    return row, capsys.readouterr().out


def test_a_result_stored_before_the_typed_document_still_loads_and_prints_the_same(tmp_path, capsys):
    import json

    row, shown = _show_json(tmp_path, capsys, STORED_RESULT)
    assert row.result is not None and row.result.pass_rate_own_tests is not None
    assert row.result.modes["tests.never_run"].count_after == 1 and row.result.means.steps.after == 22.7
    assert json.dumps(row.result.as_json()) == STORED_RESULT
    assert shown == json.dumps(json.loads(STORED_RESULT), indent=2) + "\n"


def test_an_older_result_prints_without_the_keys_it_never_had(tmp_path, capsys):
    """Before Holm adjustment, pairing, policy errors and reuse, a stored result had fewer keys:
    it loads, and what it did not have is not made up."""
    import json

    old = json.loads(STORED_RESULT)
    for key in ("n_pairs", "policy_errors", "reused_before_from", "pass_rate_own_tests"):
        del old[key]
    for entry in (*old["modes"].values(), old["overall"], old["pass_rate"]):
        del entry["p_value_adjusted"], entry["method"]
    row, shown = _show_json(tmp_path, capsys, json.dumps(old))
    assert row.result is not None and row.result.overall.p_value_adjusted is None
    assert json.loads(shown) == old and list(json.loads(shown)) == list(old)
