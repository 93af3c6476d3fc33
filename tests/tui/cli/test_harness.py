"""Tasks, rollouts and the demo through the real command line."""

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest

from bench import synthetic
from core.schema import Task
from core.tasks import commit_all
from storage.workspace import Workspace
from tui.cli import main
from tui.rollout_jobs import build_demo, task_reference, task_repo

QUIXBUGS = Path(__file__).parents[2] / "core" / "fixtures" / "quixbugs"


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory):
    """The real demo build, one rollout per train task to keep the suite fast."""
    ws = Workspace.create(tmp_path_factory.mktemp("demo") / "ws")
    result = build_demo(ws, rollouts_per_task=1, branch_points_per_task=1, branch_n=1)
    assert result["tasks"] >= 24 and result["rollouts"] == 16
    assert 0 < result["branches"] <= 16
    return ws


def branch_count(ws) -> int:
    return (
        sqlite3.connect(ws.db_path)
        .execute("SELECT count(*) FROM rollouts WHERE parent_id IS NOT NULL")
        .fetchone()[0]
    )


def status(ws, capsys):
    capsys.readouterr()
    assert main(["status", "--json", "-w", str(ws)]) == 0
    return json.loads(capsys.readouterr().out)


def test_demo_workspace_has_tasks_model_rollouts_and_proposals(demo_ws, capsys):
    doc = status(demo_ws.root, capsys)
    assert doc["tasks"] >= 24 and doc["rollouts"] == 16 + branch_count(demo_ws)
    assert (demo_ws.models_dir / "tiny" / "config.json").is_file()
    text = demo_ws.config_path.read_text()
    assert "temperature = [0.01, 0.03]" in text and "adapter_temperature = 0.083" in text
    assert demo_ws.config().policy.temperature_for(1) == 0.03
    assert demo_ws.config().policy.state_notes  # the demo's model reads its state from them
    model_config = json.loads((demo_ws.models_dir / "tiny" / "config.json").read_text())
    assert model_config["sliding_window"] == 64 and set(model_config["layer_types"]) == {"sliding_attention"}
    rows = sqlite3.connect(demo_ws.db_path).execute("SELECT policy, source_format FROM rollouts").fetchall()
    assert {r[0] for r in rows} == {"scored:tiny"}
    assert {r[1] for r in rows} == {"agentpref-harness", "agentpref-branch"}


def test_rollouts_are_reproducible_from_the_seed(demo_ws, capsys):
    ids = []
    for _ in range(2):
        capsys.readouterr()
        assert (
            main(
                ["rollout", "--tasks", "median-unsorted", "--n", "2", "--seed", "5", "-w", str(demo_ws.root)]
            )
            == 0
        )
        ids.append(sqlite3.connect(demo_ws.db_path).execute("SELECT count(*) FROM rollouts").fetchone()[0])
    # Same seed, same rollouts: the second run stored nothing new (content ids are equal).
    assert ids[0] == ids[1] == 18 + branch_count(demo_ws)


def test_unknown_task_spec_is_a_usage_error(demo_ws, capsys):
    assert main(["rollout", "--tasks", "nope,median-unsorted", "-w", str(demo_ws.root)]) == 2
    assert "unknown task(s): nope" in capsys.readouterr().err


def test_ctrl_c_keeps_finished_rollouts_and_cleans_up(demo_ws):
    db = sqlite3.connect(demo_ws.db_path)
    before = db.execute("SELECT count(*) FROM rollouts").fetchone()[0]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "rollout",
            "--tasks",
            "train",
            "--n",
            "4",
            "--seed",
            "9",
            "-w",
            str(demo_ws.root),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while db.execute("SELECT count(*) FROM rollouts").fetchone()[0] < before + 2 and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=600)
    after = db.execute("SELECT count(*) FROM rollouts").fetchone()[0]
    assert proc.returncode == 1 and "every finished rollout is kept" in err
    assert before + 2 <= after < before + 64
    for task_dir in demo_ws.tasks_dir.iterdir():
        assert git.Repo(task_dir / "repo").git.worktree("list").count("\n") == 0


def test_tasks_import_quixbugs_list_and_check(tmp_path, capsys):
    ws = tmp_path / "ws"
    assert main(["init", "-w", str(ws)]) == 0
    assert main(["tasks", "import-quixbugs", str(QUIXBUGS), "-w", str(ws)]) == 0
    assert "skipped" in capsys.readouterr().err
    assert main(["tasks", "list", "--json", "-w", str(ws)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in listed] == ["quixbugs-bitcount", "quixbugs-gcd"]
    assert main(["tasks", "check", "--json", "-w", str(ws)]) == 0
    checks = {c["task_id"]: c for c in json.loads(capsys.readouterr().out)}
    assert checks["quixbugs-bitcount"]["untouched"] == "times out"
    assert all(c["ok"] and c["reference"] == "passes" for c in checks.values())


def test_a_task_inside_an_imported_file_is_a_description_never_run(tmp_path, capsys):
    """The attack: an import whose task names a repository, a command and a held-out split."""
    ws = tmp_path / "ws"
    assert main(["init", "-w", str(ws)]) == 0
    assert main(["tasks", "import-quixbugs", str(QUIXBUGS), "-w", str(ws)]) == 0
    evil_repo = tmp_path / "evil"
    evil_repo.mkdir()
    (evil_repo / "a.py").write_text("x = 1\n")
    commit_all(evil_repo, "looks like a task")
    marker = tmp_path / "ran"
    record = json.loads(synthetic.write_jsonl(tmp_path / "one.jsonl", 1, seed=3).read_text())
    record["task_id"] = "evil"
    record["task"] = {
        "id": "evil",
        "instruction": "fix it",
        "test_command": f"env > {marker}",
        "split": "heldout",
        "repo_path": str(evil_repo),
        "reference_dir": "/etc",
    }
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text(json.dumps(record) + "\n")
    assert main(["import", str(hostile), "-w", str(ws)]) == 0
    capsys.readouterr()

    assert main(["tasks", "list", "--json", "-w", str(ws)]) == 0
    evil = next(t for t in json.loads(capsys.readouterr().out) if t["id"] == "evil")
    assert evil["instruction"] == "fix it" and evil["split"] == "heldout"  # kept as a description
    assert evil["repo_path"] is None and evil["reference_dir"] is None
    assert main(["tasks", "check", "--tasks", "heldout", "--json", "-w", str(ws)]) == 0
    assert "evil" not in capsys.readouterr().out
    assert main(["tasks", "check", "--tasks", "evil", "-w", str(ws)]) == 2
    assert main(["rollout", "--tasks", "evil", "-w", str(ws)]) == 2
    assert "unknown task" in capsys.readouterr().err
    assert not marker.exists()


def test_a_stored_path_that_is_not_the_tasks_own_folder_is_refused(tmp_path):
    """Defence in depth: a row an old import wrote is never used to find a repository."""
    ws = Workspace.create(tmp_path / "ws")
    task = Task(id="t", repo_path=str(tmp_path), reference_dir="tasks/t/../../..")
    with pytest.raises(ValueError, match="not the workspace's own folder"):
        task_repo(ws, task)
    with pytest.raises(ValueError, match="not the workspace's own folder"):
        task_reference(ws, task)
    own = Task(id="t", repo_path="tasks/t/repo", reference_dir="tasks/t/reference")
    assert task_repo(ws, own) == (ws.tasks_dir / "t" / "repo").resolve()
    assert task_reference(ws, own) == (ws.tasks_dir / "t" / "reference").resolve()


def test_tasks_add_errors_are_usage_errors(tmp_path, capsys):
    ws = tmp_path / "ws"
    main(["init", "-w", str(ws)])
    assert main(["tasks", "add", str(tmp_path / "missing"), "-w", str(ws)]) == 2
    assert "no task.toml" in capsys.readouterr().err
    assert main(["tasks", "import-quixbugs", str(tmp_path), "-w", str(ws)]) == 2
    assert "not a QuixBugs checkout" in capsys.readouterr().err


def test_branch_a_rollout_at_a_step_stores_branches_with_parent_and_step(demo_ws, capsys):
    db = sqlite3.connect(demo_ws.db_path)
    (parent,) = db.execute(
        "SELECT id FROM rollouts WHERE parent_id IS NULL AND eval_id IS NULL AND n_steps >= 3 ORDER BY id"
    ).fetchone()
    capsys.readouterr()
    code = main(["branch", "-w", str(demo_ws.root), "--rollout", parent, "--step", "3", "--n", "2"])
    assert code == 0, capsys.readouterr().err
    assert "2 new branch rollouts" in capsys.readouterr().out
    rows = db.execute(
        "SELECT id, branch_step FROM rollouts WHERE parent_id = ? AND branch_step = 2", [parent]
    ).fetchall()
    assert len(rows) == 2
    # Mining pairs each branch with its parent (when one is cleaner at the step), ranked first.
    assert main(["mine", "-w", str(demo_ws.root)]) == 0
    kinds = {k for (k,) in db.execute("SELECT DISTINCT kind FROM pairs")}
    assert kinds <= {"branch", "anchored"}


def test_branch_refuses_what_cannot_be_branched(demo_ws, capsys, tmp_path):
    ws = str(demo_ws.root)
    parent, n_steps = (
        sqlite3.connect(demo_ws.db_path)
        .execute("SELECT id, n_steps FROM rollouts WHERE parent_id IS NULL ORDER BY id")
        .fetchone()
    )
    capsys.readouterr()
    assert main(["branch", "-w", ws, "--rollout", "nope"]) == 2
    assert "no rollout nope" in capsys.readouterr().err
    assert main(["branch", "-w", ws, "--step", "2"]) == 2
    assert "--step needs --rollout" in capsys.readouterr().err
    assert main(["branch", "-w", ws, "--rollout", parent, "--step", str(n_steps + 1)]) == 2
    assert f"there is no step {n_steps + 1}" in capsys.readouterr().err
    # An imported rollout of a task this workspace cannot run.
    sample = tmp_path / "one.jsonl"
    from bench import synthetic

    synthetic.write_jsonl(sample, 1, seed=1)
    assert main(["import", "-w", ws, str(sample)]) in (0, 2)
    imported = (
        sqlite3.connect(demo_ws.db_path)
        .execute(
            "SELECT id FROM rollouts WHERE source_format != 'agentpref-harness' AND parent_id IS NULL"
            " AND source_format != 'agentpref-branch'"
        )
        .fetchone()[0]
    )
    capsys.readouterr()
    assert main(["branch", "-w", ws, "--rollout", imported]) == 2
    assert "imported rollouts cannot be replayed" in capsys.readouterr().err


def test_unconfined_runs_are_said_loudly_and_refused_to_model_policies(tmp_path, capsys, force_isolation):
    """Where only rlimits work: a warning on every rollout, the status says so, and the openai
    policy refuses (before any request) unless `[sandbox] allow_unconfined` is true."""
    ws = tmp_path / "ws"
    assert main(["init", "-w", str(ws)]) == 0
    assert main(["tasks", "import-quixbugs", str(QUIXBUGS), "-w", str(ws)]) == 0
    config = ws / "agentpref.toml"
    config.write_text(config.read_text().replace('kind = "scored"', 'kind = "openai"'))
    force_isolation("rlimits")
    assert status(ws, capsys)["sandbox"] == "rlimits"
    assert main(["rollout", "--tasks", "quixbugs-gcd", "--n", "1", "-w", str(ws)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith("warning test runs are confined by rlimits only")
    assert "error: the openai policy's model writes the code" in err
    assert "`allow_unconfined = true` under [sandbox]" in err


def test_a_tasks_known_fix_is_an_edit_one_of_its_passing_rollouts_made(demo_ws):
    from tui.rollout_jobs import known_fixes

    db = sqlite3.connect(demo_ws.db_path)
    passing = {t for (t,) in db.execute("SELECT DISTINCT task_id FROM rollouts WHERE tests_passed = 1")}
    with demo_ws.store() as store:
        fixes = known_fixes(demo_ws, store, store.tasks())
        assert fixes and set(fixes) <= passing
        kinds = {
            c.kind.value
            for t in store.tasks()
            for c in t.candidates
            if t.id in fixes and fixes[t.id].arguments == {"path": c.path, "old": c.old, "new": c.new}
        }
        assert kinds == {"right"}  # never a loosened test, a wrong patch or a rewrite
        for task_id, fix in fixes.items():
            made = [
                s.tool_call
                for (rid,) in db.execute(
                    "SELECT id FROM rollouts WHERE task_id = ? AND tests_passed = 1", [task_id]
                )
                for s in store.rollout(rid).steps
            ]
            assert fix.name == "edit" and fix in made
