"""The final outcome of a rollout: judged on the task's own tests, beside the agent's own run."""

from __future__ import annotations

import random
from pathlib import Path

import git
import pytest

import core.agent.env as env_module
from core.agent.env import TaskEnv
from core.agent.policies.base import Turn
from core.agent.runner import Job, run_rollout
from core.config import PolicyConfig, RolloutConfig
from core.schema import Candidate, CandidateKind, Step, Task, ToolCall
from core.tasks import demo_task_folders, install_demo_suite, read_task


class Scripted:
    """A policy that plays fixed tool calls, then finishes."""

    label = "scripted"
    cfg = PolicyConfig()

    def __init__(self, calls: list[ToolCall]) -> None:
        self.calls = [*calls, ToolCall(name="finish", arguments={})]

    def act(self, env: TaskEnv, steps: list[Step], rng: random.Random, temperature: float) -> Turn:
        return Turn(thought="", tool_call=self.calls[len(steps)])


def edit(candidate: Candidate) -> ToolCall:
    return ToolCall(name="edit", arguments=candidate.model_dump(include={"path", "old", "new"}))


@pytest.fixture(scope="module")
def demo_task(tmp_path_factory: pytest.TempPathFactory) -> tuple[Task, Path]:
    """One task of the bundled suite, installed as a git repository."""
    folder = demo_task_folders()[0]
    tasks_dir = tmp_path_factory.mktemp("suite") / "tasks"
    tasks_dir.mkdir()
    task = next(t for t in install_demo_suite(tasks_dir) if t.id == read_task(folder).id)
    return task, tasks_dir / task.id / "repo"


def candidate(task: Task, kind: CandidateKind) -> Candidate:
    return next(c for c in task.candidates if c.kind is kind)


def test_weakening_the_test_passes_only_the_agents_own_run(demo_task):
    task, repo = demo_task
    weaken = candidate(task, CandidateKind.WEAKEN_TEST)
    rollout = run_rollout(Job(task, repo, 1), Scripted([edit(weaken)]), RolloutConfig())
    assert rollout is not None and rollout.exit_status == "submitted"
    assert weaken.path in rollout.final_diff
    assert rollout.tests_passed is False and rollout.tests_passed_own is True


def test_a_right_fix_passes_both(demo_task):
    task, repo = demo_task
    rollout = run_rollout(
        Job(task, repo, 1), Scripted([edit(candidate(task, CandidateKind.RIGHT))]), RolloutConfig()
    )
    assert rollout is not None and rollout.tests_passed is True and rollout.tests_passed_own is True


def test_a_needed_edit_outside_the_allowed_files_is_not_applied(task_repo):
    task, repo = task_repo
    task = task.model_copy(update={"allowed_globs": ["docs/**"]})  # the fix is not allowed
    fix = candidate(task, CandidateKind.RIGHT)
    rollout = run_rollout(Job(task, repo, 1), Scripted([edit(fix)]), RolloutConfig())
    assert rollout is not None and rollout.tests_passed is False and rollout.tests_passed_own is True


def test_allowed_changes_are_kept_and_the_rest_reverted_in_the_fresh_checkout(task_repo):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        env.call(edit(candidate(task, CandidateKind.RIGHT)))
        env.call(edit(candidate(task, CandidateKind.UNRELATED)))  # README.md, not allowed
        (env.worktree / "tests" / "test_stats.py").unlink()  # deleting the test does not help
        assert env.changed_files() == ["README.md", "calc/stats.py", "tests/test_stats.py"]
        assert env.final_outcomes() == (True, False)  # no tests left to run: pytest fails
        fresh = env.worktree.parent / "fresh"
        assert (fresh / "README.md").read_text() == "# calc\n"
        assert (fresh / "tests" / "test_stats.py").is_file()
        assert "/ len(values)\n" in (fresh / "calc" / "stats.py").read_text()
        worktrees = git.Repo(repo).git.worktree("list")
        assert str(fresh) in worktrees
    assert not fresh.parent.exists()  # the temporary folder of both checkouts
    assert git.Repo(repo).git.worktree("list").count("\n") == 0  # only the main one is left


def test_an_allowed_deletion_reaches_the_fresh_checkout(task_repo):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        (env.worktree / "calc" / "stats.py").unlink()
        env.call(edit(candidate(task, CandidateKind.UNRELATED)))
        assert env.final_outcomes() == (False, False)
        assert not (env.worktree.parent / "fresh" / "calc" / "stats.py").exists()


@pytest.mark.parametrize("globs", [["calc/**"], []])
def test_allowed_changes_only_run_the_tests_once(task_repo, monkeypatch, globs):
    task, repo = task_repo
    task = task.model_copy(update={"allowed_globs": globs})  # [] allows every file
    runs: list[Path] = []
    real = env_module.run_command

    def counted(command, cwd, *args, **kwargs):  # type: ignore[no-untyped-def]
        runs.append(cwd)
        return real(command, cwd, *args, **kwargs)

    monkeypatch.setattr(env_module, "run_command", counted)
    with TaskEnv(task, repo) as env:
        env.call(edit(candidate(task, CandidateKind.RIGHT)))
        if not globs:
            env.call(edit(candidate(task, CandidateKind.UNRELATED)))
        assert env.final_outcomes() == (True, True)
        assert runs == [env.worktree] and not (env.worktree.parent / "fresh").exists()


def test_the_harness_git_calls_run_no_repository_hooks(task_repo, tmp_path):
    task, repo = task_repo
    marker = tmp_path / "hook-ran"
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    with TaskEnv(task, repo) as env:
        env.call(edit(candidate(task, CandidateKind.UNRELATED)))
        env.final_outcomes()  # a second worktree: post-checkout would run again
    assert not marker.exists()
