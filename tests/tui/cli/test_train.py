"""`--train` through the real command line: bad input refused up front, a real run recorded,
cancel by SIGTERM and resume from the checkpoint."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from core.schema import RunConfig
from storage import runs
from tests.tui.conftest import build_train_workspace
from tui.cli import main

FAST = ["--set", "max_steps=6", "--set", "batch_size=4", "--set", "save_steps=3", "--set", "max_length=512"]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    return build_train_workspace(tmp_path_factory.mktemp("train") / "ws")


def run_rows(ws):
    with ws.store() as store:
        return runs.list_runs(store)


def test_no_preferences_is_refused_before_anything_starts(tmp_path, capsys):
    ws = build_train_workspace(tmp_path / "ws", label=False)
    assert main(["--train", "-w", str(ws.root)]) == 2
    assert "no preferences to train on yet" in capsys.readouterr().err
    assert run_rows(ws) == [] and list((ws.runs_dir).iterdir()) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["--set", "learning_rat=1e-4"], "[train] has no key 'learning_rat'"),
        (["--set", "epochs=many"], "train.epochs"),
        (["--set", "batch_size=0"], "train.batch_size"),
        (["--set", "base_model=/no/such/model"], "base model /no/such/model does not exist"),
        (["--set", "min_free_disk_mb=999999999"], "MB free on the disk"),
        (["--set", "nonsense"], "expected key=value"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(labelled, capsys, overrides, message):
    before = len(run_rows(labelled))
    assert main(["--train", "-w", str(labelled.root), *overrides]) == 2
    assert message in capsys.readouterr().err
    assert len(run_rows(labelled)) == before


def test_cuda_on_a_machine_without_it_is_refused(labelled, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["--train", "-w", str(labelled.root), "--set", "device=cuda"]) == 2
    assert "no CUDA device" in capsys.readouterr().err


def test_a_run_trains_an_adapter_and_records_its_metrics(labelled):
    assert main(["--train", "-w", str(labelled.root), "--run-id", "first", *FAST]) == 0
    with labelled.store() as store:
        row = runs.get_run(store, "first")
        series = runs.metric_series(store, "first")
    assert row.status == "finished" and row.step == 6
    assert row.dataset["train_pairs"] > 0 and row.dataset["validation_pairs"] > 0
    assert row.config.train["max_steps"] == 6
    assert {"loss", "rewards/accuracies", "rewards/margins", "rewards/chosen", "rewards/rejected"} <= set(
        series
    )
    assert {"learning_rate", "epoch"} <= set(series) or "learning_rate" in series
    assert [step for step, _ in series["loss"]] == [1, 2, 3, 4, 5, 6]
    assert "eval_rewards/accuracies" in row.final_metrics
    assert row.options["device"] == "cpu" and row.options["precompute_ref_log_probs"] is True

    adapter = labelled.root / "runs" / "first" / "adapter"
    assert row.adapter_path == "runs/first/adapter"  # relative: the workspace can move
    assert "vllm serve" in (adapter / "README.md").read_text()
    config = json.loads((labelled.root / "runs" / "first" / "config.json").read_text())
    assert config["settings"]["learning_rate"] == row.config.train["learning_rate"]

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(labelled.root / "models" / "tiny")
    assert isinstance(PeftModel.from_pretrained(base, adapter), PeftModel)


def test_a_finished_or_unknown_run_cannot_be_resumed(labelled, capsys):
    assert main(["--train", "-w", str(labelled.root), "--resume", "nope"]) == 2
    assert "no run nope" in capsys.readouterr().err
    if any(r.id == "first" for r in run_rows(labelled)):
        assert main(["--train", "-w", str(labelled.root), "--resume", "first"]) == 2
        assert "has finished" in capsys.readouterr().err


def test_a_run_whose_process_lives_is_not_resumed_however_old_its_heartbeat(labelled, capsys):
    """Two trainers on one run: the heartbeat was held up, the old process still trains."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        with labelled.store() as store:
            run_id = runs.create_run(
                store, RunConfig(train={"max_steps": 6}, base_model="models/tiny"), "alive"
            )
            runs.start_run(store, run_id, sleeper.pid)
            runs.update_run(store, run_id, heartbeat="2000-01-01T00:00:00+00:00")
        assert main(["--train", "-w", str(labelled.root), "--resume", "alive"]) == 2
        assert f"run alive is still running (pid {sleeper.pid})" in capsys.readouterr().err
    finally:
        sleeper.kill()
        sleeper.wait()
    assert next(r for r in run_rows(labelled) if r.id == "alive").shown_status == "lost"


def _wait_for_step(db_path, run_id, step, proc, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        conn = sqlite3.connect(db_path)
        row = conn.execute("SELECT step FROM runs WHERE id = ?", [run_id]).fetchone()
        conn.close()
        if row and row[0] >= step:
            return row[0]
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} never reached step {step}")


def test_sigterm_cancels_after_saving_and_resume_finishes(labelled):
    settings = [
        "--set",
        "max_steps=40",
        "--set",
        "batch_size=2",
        "--set",
        "save_steps=1000",
        "--set",
        "max_length=512",
    ]
    command = [
        sys.executable,
        "-m",
        "tui",
        "--train",
        "-w",
        str(labelled.root),
        "--run-id",
        "stopme",
        *settings,
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_for_step(labelled.db_path, "stopme", 2, proc)
    os.kill(proc.pid, signal.SIGTERM)
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 1, output
    with labelled.store() as store:
        row = runs.get_run(store, "stopme")
    assert row.status == "cancelled", row
    stopped_at = row.step
    with labelled.store() as store:
        evaluated = [s for s, _ in runs.metric_series(store, "stopme", "eval").get("loss", [])]
    assert stopped_at not in evaluated  # cancelling does not run a validation pass on the way out
    assert 2 <= stopped_at < 40
    checkpoints = list((labelled.root / "runs" / "stopme" / "checkpoints").glob("checkpoint-*"))
    assert [c.name for c in checkpoints] == [f"checkpoint-{stopped_at}"]

    assert main(["--train", "-w", str(labelled.root), "--resume", "stopme"]) == 0
    with labelled.store() as store:
        row = runs.get_run(store, "stopme")
        steps = [s for s, _ in runs.metric_series(store, "stopme")["loss"]]
    assert row.status == "finished" and row.step == 40
    assert steps == list(range(1, 41))  # the resumed run went on from the checkpoint, not from step 1
    log = (labelled.root / "runs" / "stopme" / "train.log").read_text()
    assert f"resuming run stopme from checkpoint-{stopped_at}" in log


def test_options_that_need_train_and_bad_run_names_are_refused(labelled, capsys):
    assert main(["-w", str(labelled.root), "--set", "max_steps=3"]) == 2
    assert "add --train" in capsys.readouterr().err
    assert main(["--train", "-w", str(labelled.root), "--run-id", "bad name"]) == 2
    assert "use letters, digits" in capsys.readouterr().err
    assert main(["--train", "-w", str(labelled.root), "--set", 'target_modules=["q_proj"']) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert main(["--train", "-w", str(labelled.root), "--set", "loss_type=bogus"]) == 2
    assert "train.loss_type" in capsys.readouterr().err
