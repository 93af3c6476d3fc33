import shutil
from pathlib import Path

import git
import pytest

from core.agent.validate import check_task
from core.tasks import TaskError, add_task, commit_all, import_quixbugs, install_demo_suite, read_task

QUIXBUGS = Path(__file__).parent / "fixtures" / "quixbugs"


def test_quixbugs_import_keeps_correct_programs_out_of_the_repository(tmp_path):
    result = import_quixbugs(QUIXBUGS, tmp_path / "tasks", timeout_s=2)
    assert [t.id for t in result.tasks] == ["quixbugs-bitcount", "quixbugs-gcd"]
    assert result.skipped == ["lonely: no python_testcases/test_lonely.py"]
    for task in result.tasks:
        repo = tmp_path / task.repo_path
        tracked = git.Repo(repo).git.ls_files().split()
        assert not any(path.startswith("correct_python_programs") for path in tracked)
        assert f"python_programs/{task.id.split('-', 1)[1]}.py" in tracked
        assert (tmp_path / task.reference_dir / "python_programs").is_dir()
        assert read_task(repo.parent).id == task.id  # the written task.toml reads back


def test_quixbugs_tasks_validate_and_the_endless_bug_times_out(tmp_path):
    result = import_quixbugs(QUIXBUGS, tmp_path / "tasks", timeout_s=10)
    checks = {t.id: check_task(t, tmp_path / t.repo_path, tmp_path / t.reference_dir) for t in result.tasks}
    assert checks["quixbugs-bitcount"].untouched == "times out"
    assert checks["quixbugs-gcd"].untouched == "fails"
    assert all(c.reference == "passes" and c.ok for c in checks.values())


def test_quixbugs_reimport_keeps_existing_tasks_unless_replacing(tmp_path):
    import_quixbugs(QUIXBUGS, tmp_path / "tasks")
    marker = tmp_path / "tasks" / "quixbugs-gcd" / "repo" / "NOTE"
    marker.write_text("mine")
    again = import_quixbugs(QUIXBUGS, tmp_path / "tasks")
    assert again.tasks == [] and "already in the workspace" in again.skipped[0]
    assert marker.exists()
    replaced = import_quixbugs(QUIXBUGS, tmp_path / "tasks", replace=True)
    assert len(replaced.tasks) == 2 and not marker.exists()


def test_quixbugs_path_with_the_wrong_layout(tmp_path):
    (tmp_path / "python_programs").mkdir()
    with pytest.raises(
        TaskError, match="missing python_testcases/, json_testcases/, correct_python_programs/"
    ):
        import_quixbugs(tmp_path, tmp_path / "tasks")


def _task_folder(root: Path, git_repo: bool = True, toml: bool = True) -> Path:
    folder = root / "src-task"
    (folder / "repo").mkdir(parents=True)
    (folder / "repo" / "a.py").write_text("x = 1\n")
    if toml:
        (folder / "task.toml").write_text('id = "t1"\ninstruction = "fix"\ntest_command = "python -c 1"\n')
    if git_repo:
        commit_all(folder / "repo", "start")
    return folder


def test_add_task_copies_it_into_the_workspace(tmp_path):
    task = add_task(_task_folder(tmp_path), tmp_path / "ws" / "tasks")
    assert task.repo_path == "tasks/t1/repo"
    assert git.Repo(tmp_path / "ws" / task.repo_path).head.commit
    with pytest.raises(TaskError, match="already in the workspace"):
        add_task(_task_folder(tmp_path / "again"), tmp_path / "ws" / "tasks")


def test_a_bytecode_cache_in_the_source_is_not_copied_with_the_task(tmp_path):
    """A test run in the source leaves `__pycache__`: copied, a same-size edit made within the same
    second would run the stale code (the demo's checks then saw other outcomes)."""
    folder = _task_folder(tmp_path)
    cache = folder / "repo" / "__pycache__"
    cache.mkdir()
    (cache / "a.cpython-311.pyc").write_bytes(b"stale")
    (folder / "repo" / "b.pyc").write_bytes(b"stale")
    task = add_task(folder, tmp_path / "ws" / "tasks")
    repo = tmp_path / "ws" / task.repo_path
    assert (repo / "a.py").is_file() and not (repo / "__pycache__").exists() and not (repo / "b.pyc").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"toml": False}, "no task.toml"), ({"git_repo": False}, "is not a git repository")],
)
def test_bad_task_folders_say_what_is_missing(tmp_path, kwargs, message):
    with pytest.raises(TaskError, match=message):
        add_task(_task_folder(tmp_path, **kwargs), tmp_path / "ws" / "tasks")


def test_bad_task_toml_names_the_key(tmp_path):
    folder = _task_folder(tmp_path)
    (folder / "task.toml").write_text('id = "t1"\ntest_command = "x"\nstep_limit = "many"\n')
    with pytest.raises(TaskError, match="step_limit"):
        read_task(folder)
    (folder / "task.toml").write_text('id = "t1"\ntest_command = ""\n')
    with pytest.raises(TaskError, match="test_command is empty"):
        read_task(folder)


def test_a_broken_test_command_is_reported(tmp_path):
    folder = _task_folder(tmp_path)
    (folder / "task.toml").write_text('id = "t1"\ntest_command = "no-such-program --run"\n')
    task = add_task(folder, tmp_path / "ws" / "tasks")
    result = check_task(task, tmp_path / "ws" / task.repo_path, None)
    assert result.untouched == "broken" and not result.ok and "127" in result.detail


def test_demo_suite_installs_as_git_repositories_with_fixed_commits(tmp_path):
    first = install_demo_suite(tmp_path / "a" / "tasks")
    second = install_demo_suite(tmp_path / "b" / "tasks")
    assert len(first) >= 24
    assert sum(t.split == "train" for t in first) == 16
    heads = [git.Repo(tmp_path / "a" / t.repo_path).head.commit.hexsha for t in first]
    assert heads == [git.Repo(tmp_path / "b" / t.repo_path).head.commit.hexsha for t in second]
    shutil.rmtree(tmp_path / "b")


def _git_children() -> list[str]:
    """This process's `git` children (GitPython's `cat-file` helpers live as long as their Repo)."""
    import os

    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")
        except OSError:
            continue
        name, ppid = fields[0].partition("(")[2], int(fields[2].split()[1])
        if ppid == os.getpid() and name == "git":
            found.append(stat.parent.name)
    return found


def test_no_git_helper_process_outlives_the_call_that_needed_it(tmp_path):
    from core.config import Config, PolicyConfig
    from storage.evals import base_key

    before = set(_git_children())  # other tests' repositories, left to the garbage collector
    source = tmp_path / "task"
    (source / "repo").mkdir(parents=True)
    (source / "repo" / "a.py").write_text("x = 1\n")
    (source / "task.toml").write_text('id = "t1"\ninstruction = "fix"\ntest_command = "true"\n')
    commit_all(source / "repo", "start")
    task = add_task(source, tmp_path / "tasks")
    base_key(PolicyConfig(), tmp_path, [(task, tmp_path / "tasks" / "t1" / "repo")], 1, 0, Config())
    assert set(_git_children()) - before == set()
