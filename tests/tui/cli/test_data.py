"""The headless loop through the real command line: import, mine, label --auto, export, status."""

import json
import subprocess
import sys

import pytest

from bench import synthetic
from tui.cli import main


@pytest.fixture
def ws(tmp_path):
    path = tmp_path / "ws"
    assert main(["init", "-w", str(path)]) == 0
    return path


@pytest.fixture
def sample(tmp_path):
    return synthetic.write_jsonl(tmp_path / "sample.jsonl", 48, seed=3)


def status(ws, capsys):
    capsys.readouterr()
    assert main(["status", "--json", "-w", str(ws)]) == 0
    return json.loads(capsys.readouterr().out)


def test_status_json_has_the_documented_keys(ws, sample, capsys):
    assert main(["import", str(sample), "-w", str(ws)]) == 0
    doc = status(ws, capsys)
    assert doc["rollouts"] == 48 and doc["tasks"] == 6
    assert {"tasks", "rollouts", "flag_rates", "proposals_pending", "preferences", "runs", "evals"} <= set(
        doc
    )
    assert doc["preferences"] == {"human": 0, "auto": 0}
    assert all(0.0 <= rate <= 1.0 for rate in doc["flag_rates"].values())
    assert "tests.never_run" in doc["flag_rates"] and "evidence.uncited" in doc["flag_rates"]


def test_importing_the_same_file_twice_adds_nothing(ws, sample, capsys):
    assert main(["import", str(sample), "-w", str(ws)]) == 0
    assert main(["-w", str(ws), "import", str(sample)]) == 0  # -w before the subcommand too
    assert "already imported" in capsys.readouterr().out
    # The same rollouts in a different file are recognised by content, too.
    copy = sample.with_name("copy.jsonl")
    copy.write_text(sample.read_text() + "\n")
    assert main(["import", str(copy), "-w", str(ws)]) == 0
    assert status(ws, capsys)["rollouts"] == 48


def test_a_broken_file_imports_nothing_and_others_still_import(ws, sample, tmp_path, capsys):
    lines = sample.read_text().splitlines()
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([*lines[:5], lines[5][:200], *lines[6:10]]) + "\n")
    good = synthetic.write_jsonl(tmp_path / "good.jsonl", 8, seed=99)
    code = main(["import", str(broken), str(good), "-w", str(ws)])
    captured = capsys.readouterr()
    assert code == 2
    assert f"{broken}, record 6" in captured.err and "invalid JSON" in captured.err
    assert "imported: " in captured.err and str(good) in captured.err
    assert status(ws, capsys)["rollouts"] == 8


def test_unknown_format_and_missing_file_exit_2(ws, tmp_path, capsys):
    odd = tmp_path / "odd.json"
    odd.write_text('{"a": 1}')
    assert main(["import", str(odd), str(tmp_path / "nope.jsonl"), "-w", str(ws)]) == 2
    err = capsys.readouterr().err
    assert "unknown format" in err and "no such file" in err


def test_mine_label_export_loop(ws, sample, tmp_path, capsys):
    # Synthetic imports share no prefixes worth a lesson: compare them whole, as imports do.
    config = ws / "agentpref.toml"
    config.write_text(config.read_text().replace("rollout_pairs = false", "rollout_pairs = true"))
    assert main(["import", str(sample), "-w", str(ws)]) == 0
    assert main(["mine", "-w", str(ws)]) == 0
    doc = status(ws, capsys)
    assert doc["proposals_pending"] > 0
    pending = doc["proposals_pending"]
    assert main(["label", "--auto", "--min-gap", "1000", "-w", str(ws)]) == 0
    assert status(ws, capsys)["preferences"]["auto"] == 0
    assert main(["label", "--auto", "-w", str(ws)]) == 0
    doc = status(ws, capsys)
    assert doc["preferences"]["auto"] == pending and doc["proposals_pending"] == 0
    # Re-mining keeps the decisions.
    assert main(["mine", "-w", str(ws)]) == 0
    assert status(ws, capsys)["preferences"]["auto"] == pending

    out = tmp_path / "prefs.jsonl"
    assert main(["export", str(out), "-w", str(ws)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and all({"prompt", "chosen", "rejected", "tools"} <= set(r) for r in rows)
    assert main(["export", str(out), "--human-only", "-w", str(ws)]) == 1  # nothing human yet


def test_label_without_auto_and_missing_workspace_are_usage_errors(tmp_path, capsys):
    assert main(["label", "-w", str(tmp_path / "ws")]) == 2
    assert main(["status", "-w", str(tmp_path / "nowhere")]) == 2
    assert "agentpref-tui init" in capsys.readouterr().err


def test_bad_config_is_reported_with_its_key(ws, sample, capsys):
    (ws / "agentpref.toml").write_text("[mining]\nmargn = 3\n")
    assert main(["import", str(sample), "-w", str(ws)]) == 2
    assert "mining.margn" in capsys.readouterr().err


def test_console_script_runs_and_usage_error_is_2(tmp_path):
    exe = [sys.executable, "-m", "tui"]
    assert subprocess.run([*exe, "--help"], capture_output=True).returncode == 0
    assert subprocess.run([*exe, "frobnicate"], capture_output=True).returncode == 2


def test_bad_custom_check_and_unknown_check_id_exit_2(ws, sample, capsys):
    (ws / "agentpref.toml").write_text('[checks]\ncustom = ["no_such_module:fn"]\n')
    assert main(["import", str(sample), "-w", str(ws)]) == 2
    assert "cannot import no_such_module" in capsys.readouterr().err
    (ws / "agentpref.toml").write_text('[checks]\nweights = { "tests.neverrun" = 9 }\n')
    assert main(["mine", "-w", str(ws)]) == 2
    assert "tests.neverrun" in capsys.readouterr().err


def test_non_positive_counts_are_usage_errors(ws):
    for argv in (["rollout", "--n", "0"], ["tasks", "import-quixbugs", ".", "--heldout-every", "0"]):
        with pytest.raises(SystemExit) as info:
            main([*argv, "-w", str(ws)])
        assert info.value.code == 2


def test_status_json_says_how_test_runs_are_confined(ws, capsys):
    from core.agent.confinement import isolation

    assert status(ws, capsys)["sandbox"] == isolation()
    assert isolation() in ("bwrap", "namespaces", "rlimits")
