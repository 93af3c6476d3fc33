"""`agreement` and the annotators' side of `status`, `label` and `export` on the command line."""

import json

import pytest

from core.agreement.report import AgreementReport
from tests.tui.conftest import build_workspace, vote
from tui.cli import main

# Cohen's kappa worked example (Wikipedia, "Cohen's kappa"): 50 items, both say yes to 20,
# only A to 5, only B to 10, both no to 15: kappa = 0.4. With two coders and no missing values,
# nominal Krippendorff's alpha on the same data is 1 - 99 * 30 / (2 * 55 * 45) = 0.4 as well.
YES, NO = "proposed", "other"
RATER_A = [YES] * 20 + [YES] * 5 + [NO] * 10 + [NO] * 15
RATER_B = [YES] * 20 + [NO] * 5 + [YES] * 10 + [NO] * 15


@pytest.fixture(scope="module")
def agreed_ws(tmp_path_factory):
    ws = build_workspace(tmp_path_factory.mktemp("agree") / "ws")
    vote(ws, "anna", RATER_A)
    vote(ws, "ben", RATER_B)
    return ws


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_agreement_json_has_the_reports_keys_and_the_published_kappa_and_alpha(agreed_ws, capsys):
    code, out, _ = run(capsys, "agreement", "-w", str(agreed_ws.root), "--json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == set(AgreementReport.model_fields)
    assert doc["annotators"] == {"anna": 50, "ben": 50}
    (pair,) = doc["pairwise"]
    assert pair["annotators"] == ["anna", "ben"] and pair["shared"] == 50 and pair["agreed"] == 35
    assert pair["kappa"] == pytest.approx(0.4)
    assert doc["overall"]["alpha"] == pytest.approx(0.4) and doc["overall"]["items"] == 50
    low, high = pair["interval"]
    assert low < 0.4 < high
    assert len(doc["conflicts"]) == 15
    assert set(doc["conflicts"][0]) == {"pair_id", "task_id", "votes"}
    assert set(doc["checks"][0]) == {
        *("check", "decided", "agreed", "precision", "interval", "ties", "disagreements"),
    }
    AgreementReport.model_validate(doc)  # the JSON reads back as the model


def test_agreement_plain_prints_kappa_alpha_the_checks_and_the_conflicts(agreed_ws, capsys):
    code, out, _ = run(capsys, "agreement", "-w", str(agreed_ws.root))
    assert code == 0
    assert "anna / ben" in out and "0.40" in out
    assert "Krippendorff's alpha" in out
    assert "least trusted first" in out and "tests." in out
    assert "15 conflicting pair(s)" in out


def test_agreement_without_a_workspace_is_bad_input(tmp_path, capsys):
    code, _, err = run(capsys, "agreement", "-w", str(tmp_path / "nowhere"))
    assert code == 2 and "no workspace" in err
    code, _, _ = run(capsys, "agreement", "-w", str(tmp_path / "nowhere"), "--json")
    assert code == 2


def test_status_json_counts_each_annotators_decisions(agreed_ws, capsys):
    code, out, _ = run(capsys, "status", "--json", "-w", str(agreed_ws.root))
    assert code == 0
    doc = json.loads(out)
    assert doc["annotators"] == {"anna": 50, "ben": 50}
    assert {"tasks", "rollouts", "preferences", "preferences_by_decision", "runs", "evals"} <= set(doc)


def test_export_follows_the_configured_label_policy(agreed_ws, capsys, tmp_path):
    config = agreed_ws.config_path.read_text()
    majority = tmp_path / "majority.jsonl"
    assert run(capsys, "export", str(majority), "-w", str(agreed_ws.root), "--human-only")[0] == 0
    try:
        latest_config = config.replace('label_policy = "majority"', 'label_policy = "latest"')
        agreed_ws.config_path.write_text(latest_config)
        latest = tmp_path / "latest.jsonl"
        assert run(capsys, "export", str(latest), "-w", str(agreed_ws.root), "--human-only")[0] == 0
    finally:
        agreed_ws.config_path.write_text(config)
    # majority drops the 15 pairs anna and ben disagree on; latest keeps one decision of each
    assert len(majority.read_text().splitlines()) == 35
    assert len(latest.read_text().splitlines()) == 50


def test_annotator_applies_to_labelling_only(agreed_ws, capsys):
    code, _, err = run(capsys, "label", "--auto", "--annotator", "anna", "-w", str(agreed_ws.root))
    assert code == 2 and "--annotator" in err
    code, _, err = run(capsys, "--annotator", "anna", "status", "-w", str(agreed_ws.root))
    assert code == 2 and "--annotator" in err
    code, _, err = run(capsys, "--annotator", "anna", "--train", "-w", str(agreed_ws.root))
    assert code == 2 and "--annotator" in err
    code, _, err = run(capsys, "label", "--annotator", "anna", "-w", str(agreed_ws.root))  # no terminal
    assert code == 2 and "--auto" in err
