import os

import git
import pytest

from core.agent.env import TaskEnv
from core.schema import ToolCall


def call(env, name, **arguments):
    return env.call(ToolCall(name=name, arguments=arguments))


def test_tools_work_inside_a_worktree_and_the_diff_comes_from_git(task_repo):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        assert "calc/stats.py" in call(env, "list_files").content
        assert "len(values) - 1" in call(env, "read_file", path="calc/stats.py").content
        assert "calc/stats.py:2:" in call(env, "search", query="len(values)").content
        failing = call(env, "run_tests")
        assert failing.exit_code != 0 and "failed" in failing.content
        assert not call(env, "edit", path="calc/stats.py", old="(len(values) - 1)", new="len(values)").error
        assert call(env, "run_tests").exit_code == 0
        diff = env.diff()
        assert (
            "-    return sum(values) / (len(values) - 1)" in diff
            and "+    return sum(values) / len(values)" in diff
        )
        assert env.final_outcomes() == (True, True)
        worktree = env.worktree
    assert not worktree.exists()
    assert git.Repo(repo).git.worktree("list").count("\n") == 0  # only the main one is left
    assert "len(values) - 1" in (repo / "calc" / "stats.py").read_text()  # the task repo is untouched


@pytest.mark.parametrize(
    "path", ["../outside.txt", "/etc/passwd", "calc/../../x", "~/.bashrc", ".git/config"]
)
def test_paths_that_leave_the_worktree_are_refused(task_repo, path):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        for name, extra in (("read_file", {}), ("edit", {"old": "a", "new": "b"}), ("list_files", {})):
            obs = call(env, name, path=path, **extra)
            assert obs.error and "refused" in obs.content


def test_a_symlink_out_of_the_worktree_is_refused(task_repo, tmp_path):
    task, repo = task_repo
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    with TaskEnv(task, repo) as env:
        os.symlink(secret, env.worktree / "link.txt")
        obs = call(env, "read_file", path="link.txt")
        assert obs.error and "refused" in obs.content and "top secret" not in obs.content
        assert call(env, "edit", path="link.txt", old="top", new="x").error
    assert secret.read_text() == "top secret"


def test_edit_must_match_exactly_once(task_repo):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        assert "occurs 0 times" in call(env, "edit", path="calc/stats.py", old="nope", new="x").content
        assert "occurs 3 times" in call(env, "edit", path="calc/stats.py", old="values", new="x").content
        assert "No such file" in call(env, "read_file", path="calc/missing.py").content


def test_files_left_by_test_runs_are_not_in_the_diff(task_repo):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        (env.worktree / ".coverage").write_text("data")
        call(env, "edit", path="calc/stats.py", old="(len(values) - 1)", new="len(values)")
        diff = env.diff()
    assert "calc/stats.py" in diff and ".coverage" not in diff


def test_unknown_tools_and_bad_arguments_are_error_observations(task_repo):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        assert "unknown tool" in call(env, "rm_rf").content
        assert "bad arguments" in call(env, "read_file", file="x").content
        assert call(env, "finish").content == "Finished." and env.finished


def test_a_test_run_that_never_ends_is_cut_off(task_repo):
    task, repo = task_repo
    task = task.model_copy(update={"test_command": "python -c 'while True: pass'", "test_timeout_s": 1})
    with TaskEnv(task, repo) as env:
        obs = call(env, "run_tests")
    assert obs.error and "timed out after 1 s" in obs.content


def test_not_a_git_repository(tmp_path, task_repo):
    task, _ = task_repo
    with pytest.raises(ValueError, match="not a git repository"), TaskEnv(task, tmp_path):
        pass


def test_odd_arguments_and_files_give_error_observations_not_crashes(task_repo):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        (env.worktree / "blob.bin").write_bytes(b"\xff\xfe\x00binary")
        assert "must be text" in call(env, "read_file", path=5).content
        assert "is a folder" in call(env, "read_file", path="calc").content
        assert "is a folder" in call(env, "edit", path="calc", old="a", new="b").content
        assert "not a UTF-8 text file" in call(env, "edit", path="blob.bin", old="a", new="b").content


def test_a_failed_worktree_leaves_no_temporary_folder(tmp_path, task_repo, monkeypatch):
    import tempfile

    task, _ = task_repo
    private = tmp_path / "tmp"  # not the shared /tmp, where a suite running beside this one works
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    empty = tmp_path / "empty"
    git.Repo.init(empty).close()  # a repository without a commit: `worktree add HEAD` fails
    with pytest.raises(git.GitCommandError), TaskEnv(task, empty):
        pass
    assert list(private.iterdir()) == []


def test_a_refused_edit_is_not_taken_for_a_missing_path(task_repo):
    from core.checks import run_checks
    from core.config import ChecksConfig
    from core.schema import Rollout, Step

    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        edit = ToolCall(name="edit", arguments={"path": "calc/stats.py", "old": "nope", "new": "x"})
        steps = [Step(index=0, tool_call=edit, observation=env.call(edit))]
    flags = run_checks(Rollout(task_id=task.id, steps=steps), task, ChecksConfig())
    assert "path.hallucinated" not in [f.check for f in flags]


def test_a_fifo_is_no_file_and_hangs_no_tool(task_repo):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        os.mkfifo(env.worktree / "calc" / "pipe")  # opening it to read would wait for a writer
        assert "No such file" in call(env, "read_file", path="calc/pipe").content
        assert call(env, "edit", path="calc/pipe", old="a", new="b").error
        assert "calc/pipe" not in call(env, "list_files").content
        assert "calc/stats.py:2:" in call(env, "search", query="len(values)").content


def test_an_edit_keeps_the_file_mode_and_leaves_no_temporary_file(task_repo):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        stats = env.worktree / "calc" / "stats.py"
        stats.chmod(0o755)
        assert not call(env, "edit", path="calc/stats.py", old="(len(values) - 1)", new="len(values)").error
        assert stats.stat().st_mode & 0o777 == 0o755
        assert sorted(p.name for p in stats.parent.iterdir()) == ["__init__.py", "stats.py"]
        assert env.changed_files() == ["calc/stats.py"]
