"""The bundled demo suite: every task parses, and its candidates do what their kind says.

Each task folder holds `task.toml` and `repo/` (a tiny package with one seeded bug). The tests
copy the repo, run the task's test command on it untouched and with each candidate applied, and
check the outcome the candidate's kind promises: right, weaken_test and sprawl pass; wrong and
unrelated fail; the right fix is inside the diff budget and the sprawl is over it.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.schema import Candidate, CandidateKind, Task

SUITE = Path(__file__).resolve().parents[2] / "core" / "demo_suite"
TASK_DIRS = sorted(p for p in SUITE.iterdir() if (p / "task.toml").is_file()) if SUITE.is_dir() else []

PASSES = {
    CandidateKind.RIGHT: True,
    CandidateKind.WRONG: False,
    CandidateKind.WEAKEN_TEST: True,
    CandidateKind.SPRAWL: True,
    CandidateKind.UNRELATED: False,
}


def load_task(task_dir: Path) -> Task:
    with (task_dir / "task.toml").open("rb") as handle:
        return Task.model_validate(tomllib.load(handle))


def changed_lines(before: str, after: str) -> int:
    """Added plus removed lines of the unified diff between two versions of a file."""
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
    return sum(1 for line in diff if line.startswith(("+", "-")) and not line.startswith(("+++", "---")))


def copy_repo(task_dir: Path, dest: Path) -> Path:
    shutil.copytree(task_dir / "repo", dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def apply(repo: Path, candidate: Candidate) -> None:
    path = repo / candidate.path
    text = path.read_text()
    assert text.count(candidate.old) == 1, f"{candidate.name}: `old` must occur exactly once"
    path.write_text(text.replace(candidate.old, candidate.new))


def run_tests(task: Task, repo: Path) -> subprocess.CompletedProcess[str]:
    command = task.test_command
    assert command.startswith("python "), command
    command = f'"{sys.executable}" {command.removeprefix("python ")}'
    # The venv's own pytest plugins (textual snapshots, asyncio) are not needed by the demo repos
    # and would triple the start-up time of every run.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(command, shell=True, cwd=repo, env=env, capture_output=True, text=True, timeout=60)


def test_suite_shape():
    tasks = [load_task(d) for d in TASK_DIRS]
    assert len(tasks) >= 24
    ids = [t.id for t in tasks]
    assert len(ids) == len(set(ids))
    splits = [t.split for t in tasks]
    assert splits.count("train") == 16
    assert splits.count("heldout") >= 8
    assert set(splits) == {"train", "heldout"}


@pytest.mark.parametrize("task_dir", TASK_DIRS, ids=[d.name for d in TASK_DIRS])
def test_task_definition(task_dir: Path):
    task = load_task(task_dir)
    assert task.id == task_dir.name
    assert task.instruction.strip()
    assert task.test_command == "python -m pytest -q -x -p no:cacheprovider tests"
    assert task.diff_budget is not None and task.diff_budget > 0
    assert task.step_limit == 12
    assert len(task.allowed_globs) == 1 and task.allowed_globs[0].endswith("/**")
    repo = task_dir / "repo"
    assert not (repo / ".git").exists()
    package = task.allowed_globs[0].removesuffix("/**")
    assert (repo / package / "__init__.py").is_file()
    assert (repo / package / "helpers.py").is_file()
    assert (repo / "README.md").is_file()
    assert list((repo / "tests").glob("test_*.py"))

    assert sorted(c.kind for c in task.candidates) == sorted(CandidateKind)
    assert len({c.name for c in task.candidates}) == len(task.candidates)
    for candidate in task.candidates:
        text = (repo / candidate.path).read_text()
        assert text.count(candidate.old) == 1, f"{candidate.name}: `old` must occur exactly once"
        assert candidate.old != candidate.new
        in_allowed = any(fnmatch.fnmatch(candidate.path, g) for g in task.allowed_globs)
        if candidate.kind is CandidateKind.WEAKEN_TEST:
            assert candidate.path.startswith("tests/")
        elif candidate.kind is CandidateKind.UNRELATED:
            assert not in_allowed
        else:
            assert in_allowed, candidate.path


@pytest.mark.parametrize("task_dir", TASK_DIRS, ids=[d.name for d in TASK_DIRS])
def test_candidates_behave_as_their_kind(task_dir: Path, tmp_path: Path):
    task = load_task(task_dir)
    repo_files = task_dir / "repo"

    def outcome(candidate: Candidate | None) -> tuple[str, subprocess.CompletedProcess[str]]:
        name = candidate.name if candidate else "untouched"
        repo = copy_repo(task_dir, tmp_path / name)
        if candidate is not None:
            apply(repo, candidate)
        return name, run_tests(task, repo)

    with ThreadPoolExecutor(max_workers=len(task.candidates) + 1) as pool:
        results = dict(pool.map(outcome, [None, *task.candidates]))

    base = results["untouched"]
    assert base.returncode == 1, f"the untouched repo must fail its tests:\n{base.stdout}{base.stderr}"
    for candidate in task.candidates:
        result = results[candidate.name]
        expected = PASSES[candidate.kind]
        assert (result.returncode == 0) is expected, (
            f"{candidate.kind} candidate {candidate.name} should {'pass' if expected else 'fail'}:\n"
            f"{result.stdout}{result.stderr}"
        )
        if not expected:
            assert result.returncode == 1, f"{candidate.name}: tests should fail, not error\n{result.stdout}"

        before = (repo_files / candidate.path).read_text()
        after = before.replace(candidate.old, candidate.new)
        size = changed_lines(before, after)
        assert task.diff_budget is not None
        if candidate.kind is CandidateKind.RIGHT:
            assert size <= task.diff_budget // 2, f"right fix changes {size} lines"
        elif candidate.kind is CandidateKind.SPRAWL:
            assert size > task.diff_budget, f"sprawl changes only {size} lines"
