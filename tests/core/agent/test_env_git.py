"""A test run that rewrites the repository's git config gets nothing run by the harness's git.

Unconfined (rlimits) a test run can write wherever the user can, including the task
repository's `.git/config` and `.git/info/attributes`; confined, it can still write the
worktree's `.git` file and `.gitattributes`. Each variant below plants a command there (or
points the worktree at another git dir). Two layers stand in the way, and each is tested on
its own: the config is put back after every test run (in rlimits mode, forced here, the run's
writes succeed), and the harness's git calls (`diff`, `changed_files`, `final_outcomes` with
its fresh checkout, the cleanup) run nothing a config names even while it is planted there
(as a process a test run left behind could do, between test runs).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import git
import pytest

from core.agent import sandbox
from core.agent.env import TaskEnv
from core.schema import ToolCall


def _hook(tmp_path: Path) -> tuple[Path, Path]:
    """An executable that leaves a marker when anything runs it (and passes its input on)."""
    marker = tmp_path / "ran"
    hook = tmp_path / "hook.sh"
    hook.write_text(f'#!/bin/sh\necho "$@" >> {shlex.quote(str(marker))}\ncat\n')
    hook.chmod(0o755)
    return hook, marker


def _attacks(hook: Path, evil_git_dir: Path) -> dict[str, str]:
    h = shlex.quote(str(hook))
    info = "$(git rev-parse --git-common-dir)/info"
    return {
        "fsmonitor": f"git config core.fsmonitor {h}",
        "clean filter": f"git config filter.evil.clean {h} && echo '* filter=evil' > .gitattributes",
        "smudge filter": (
            f"git config filter.evil.smudge {h} && git config filter.evil.process {h}"
            f" && mkdir -p {info} && echo '* filter=evil' >> {info}/attributes"
        ),
        "diff.external": f"git config diff.external {h}",
        "textconv": f"git config diff.evil.textconv {h} && echo '* diff=evil' > .gitattributes",
        "hooks path": f"git config core.hooksPath {shlex.quote(str(hook.parent / 'hooks'))}",
        "git file": f"echo 'gitdir: {evil_git_dir}' > .git",
    }


ATTACK_NAMES = [
    "fsmonitor",
    "clean filter",
    "smudge filter",
    "diff.external",
    "textconv",
    "hooks path",
    "git file",
]


def _guarded(repo: Path) -> dict[str, bytes | None]:
    git_dir = repo / ".git"
    paths = ("config", "config.worktree", "info/attributes")
    return {p: (git_dir / p).read_bytes() if (git_dir / p).exists() else None for p in paths}


@pytest.fixture
def planted(task_repo, tmp_path):
    """(task, repo, marker, the shell command of each attack)."""
    task, repo = task_repo
    hook, marker = _hook(tmp_path)
    hooks = tmp_path / "hooks"  # for "hooks path": every hook git might run
    hooks.mkdir()
    for name in ("post-checkout", "reference-transaction", "post-index-change", "fsmonitor-watchman"):
        shutil.copy(hook, hooks / name)
    # Another git dir for the worktree's `.git` file to point at: its HEAD already has the
    # README change (so a diff taken there would miss it), and its config runs the hook.
    shutil.copytree(repo, tmp_path / "evil")
    (tmp_path / "evil" / "README.md").write_text("# Calc\n")
    evil_repo = git.Repo(tmp_path / "evil")
    evil_repo.index.add(["README.md"])
    evil_repo.index.commit("the agent's README change, already made")
    evil = tmp_path / "evil" / ".git"
    with (evil / "config").open("a") as config:
        config.write(f"[core]\n\tfsmonitor = {hook}\n[diff]\n\texternal = {hook}\n")
    return task, repo, marker, _attacks(hook, evil)


def _agent_edits(env: TaskEnv) -> None:
    fix = {"path": "calc/stats.py", "old": "(len(values) - 1)", "new": "len(values)"}
    assert not env.call(ToolCall(name="edit", arguments=fix)).error
    readme = {"path": "README.md", "old": "# calc", "new": "# Calc"}  # not allowed: a fresh checkout
    assert not env.call(ToolCall(name="edit", arguments=readme)).error


@pytest.mark.parametrize("mode", ["as confined here", "rlimits"])
@pytest.mark.parametrize("attack", ATTACK_NAMES)
def test_what_a_test_run_writes_into_git_config_is_put_back_and_never_run(planted, monkeypatch, attack, mode):
    task, repo, marker, attacks = planted
    if mode == "rlimits":  # no read-only mounts: the run's writes to the git dir succeed
        monkeypatch.setattr(sandbox, "isolation", lambda: sandbox.RLIMITS)
    command = attacks[attack] + "; python -m pytest -q -p no:cacheprovider tests"
    task = task.model_copy(update={"test_command": command, "allowed_globs": ["calc/**"]})
    before = _guarded(repo)
    with TaskEnv(task, repo) as env:
        env.call(ToolCall(name="run_tests", arguments={}))
        after_run = _guarded(repo)
        _agent_edits(env)
        diff, changed, outcomes = env.diff(), env.changed_files(), env.final_outcomes()
        diff_after, after_runs = env.diff(), _guarded(repo)
    assert not marker.exists(), f"the harness ran the planted command: {marker.read_text()}"
    assert "+    return sum(values) / len(values)" in diff and "README.md" in diff_after
    assert changed == ["README.md", "calc/stats.py"]
    assert outcomes == (True, True)
    assert after_run == before and after_runs == before and _guarded(repo) == before


@pytest.mark.parametrize("attack", ATTACK_NAMES)
def test_the_harness_git_runs_nothing_while_an_attack_is_planted(planted, attack):
    task, repo, marker, attacks = planted
    task = task.model_copy(update={"allowed_globs": ["calc/**"]})
    with TaskEnv(task, repo) as env:
        _agent_edits(env)
        plant = subprocess.run(
            ["/bin/sh", "-c", attacks[attack]], cwd=env.worktree, capture_output=True, check=False
        )
        assert plant.returncode == 0, plant.stderr
        # No test run in between to put the config back: the fresh checkout comes first.
        diff, changed, outcomes = env.diff(), env.changed_files(), env.final_outcomes()
    assert not marker.exists(), f"the harness ran the planted command: {marker.read_text()}"
    assert "+    return sum(values) / len(values)" in diff and "README.md" in diff
    assert changed == ["README.md", "calc/stats.py"]
    assert outcomes == (True, True)


def test_a_confined_test_run_cannot_write_the_git_dir_at_all(task_repo):
    if sandbox.isolation() == sandbox.RLIMITS:
        pytest.skip("test runs are not confined here (no bubblewrap, no user namespaces)")
    task, repo = task_repo
    task = task.model_copy(update={"test_command": "git config core.fsmonitor /bin/true && echo WROTE"})
    with TaskEnv(task, repo) as env:
        obs = env.call(ToolCall(name="run_tests", arguments={}))
    assert "WROTE" not in obs.content and obs.exit_code != 0
