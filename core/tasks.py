"""Task folders: reading `task.toml`, installing tasks into a workspace, QuixBugs, validation.

A task folder holds `task.toml` (the `core.schema.Task` fields), `repo/` (a git repository:
what the agent sees) and optionally `reference/` (files that, copied over the repository,
make the reference fix; they never enter the agent's repository). Installed tasks live in
the workspace's `tasks/<id>/`, with paths stored relative to the workspace.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import git
from pydantic import ValidationError

from core.schema import Task

DEMO_SUITE = "demo_suite"
GIT_AUTHOR = git.Actor("agentpref", "agentpref@localhost")
FIXED_DATE = "1767225600 +0000"  # demo repositories get the same commit ids everywhere


class TaskError(ValueError):
    """A task folder that cannot be used; the message names what is missing or wrong."""


def read_task(folder: Path) -> Task:
    toml = folder / "task.toml"
    if not toml.is_file():
        raise TaskError(f"{folder}: no task.toml (a task folder holds task.toml and repo/)")
    try:
        data = tomllib.loads(toml.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TaskError(f"{toml}: not valid TOML: {exc}") from exc
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise TaskError(f"{toml}: {problems}") from exc
    if not task.test_command.strip():
        raise TaskError(f"{toml}: test_command is empty: the harness needs a command that runs the tests")
    return task


def add_task(source: Path, tasks_dir: Path, replace: bool = False) -> Task:
    """Copy a task folder (its repo must already be a git repository) into the workspace."""
    task = read_task(source)
    repo = source / "repo"
    if not repo.is_dir():
        raise TaskError(f"{source}: no repo/ folder (the repository the agent works on)")
    try:
        with git.Repo(repo) as repository:  # closed: its `git cat-file` helpers end with it
            head = repository.head.commit
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise TaskError(
            f"{repo} is not a git repository: run `git init && git add -A && git commit`"
        ) from exc
    except ValueError as exc:
        raise TaskError(f"{repo} has no commit yet: commit the starting state of the repository") from exc
    del head
    return _install(source, tasks_dir, task, replace, make_git=False)


def _install(source: Path, tasks_dir: Path, task: Task, replace: bool, make_git: bool) -> Task:
    target = tasks_dir / task.id
    if target.exists():
        if not replace:
            raise TaskError(f"task {task.id} is already in the workspace ({target}); remove it first")
        shutil.rmtree(target)
    # Bytecode caches are never part of a task: one left in the source (a test run there) would be
    # copied with it, and a same-size edit within the second it was written would run the old code.
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if make_git:
        commit_all(target / "repo", "The task's starting state")
    workspace = tasks_dir.parent
    task.repo_path = str((target / "repo").relative_to(workspace))
    if (target / "reference").is_dir():
        task.reference_dir = str((target / "reference").relative_to(workspace))
    return task


def commit_all(repo_dir: Path, message: str) -> None:
    """Make `repo_dir` a git repository whose one commit holds everything in it."""
    with git.Repo.init(repo_dir, initial_branch="main") as repository:
        with repository.config_writer() as config:
            config.set_value("user", "name", GIT_AUTHOR.name)
            config.set_value("user", "email", GIT_AUTHOR.email)
        repository.git.add("--all")
        repository.index.commit(
            message, author=GIT_AUTHOR, committer=GIT_AUTHOR, author_date=FIXED_DATE, commit_date=FIXED_DATE
        )


def demo_task_folders() -> list[Path]:
    root = resources.files("core") / DEMO_SUITE
    return sorted(Path(str(p)) for p in root.iterdir() if (Path(str(p)) / "task.toml").is_file())


def install_demo_suite(tasks_dir: Path) -> list[Task]:
    """The bundled suite, each repo made a git repository with one fixed commit."""
    return [
        _install(folder, tasks_dir, read_task(folder), replace=True, make_git=True)
        for folder in demo_task_folders()
    ]


# -- QuixBugs ----------------------------------------------------------------------------------
QUIXBUGS_DIRS = ("python_programs", "python_testcases", "json_testcases", "correct_python_programs")
QUIXBUGS_SUPPORT = ("node.py", "load_testdata.py", "__init__.py")


@dataclass
class QuixBugsImport:
    tasks: list[Task]
    skipped: list[str]  # "NAME: why"


def import_quixbugs(
    root: Path, tasks_dir: Path, split_every: int = 4, timeout_s: float = 10.0, replace: bool = False
) -> QuixBugsImport:
    """One task per program of a QuixBugs checkout. The correct programs are kept beside each
    repository as its reference fix and never enter the repository; every `split_every`-th
    program is held out."""
    missing = [d for d in QUIXBUGS_DIRS if not (root / d).is_dir()]
    if missing:
        raise TaskError(
            f"{root} is not a QuixBugs checkout: missing {', '.join(d + '/' for d in missing)} "
            f"(expected {', '.join(d + '/' for d in QUIXBUGS_DIRS)})"
        )
    programs = sorted(
        p.stem for p in (root / "python_programs").glob("*.py") if p.name not in QUIXBUGS_SUPPORT
    )
    tasks, skipped = [], []
    for number, name in enumerate(programs):
        test = root / "python_testcases" / f"test_{name}.py"
        correct = root / "correct_python_programs" / f"{name}.py"
        if not test.is_file():
            skipped.append(f"{name}: no python_testcases/test_{name}.py")
            continue
        if not correct.is_file():
            skipped.append(f"{name}: no correct_python_programs/{name}.py")
            continue
        task = Task(
            id=f"quixbugs-{name.replace('_', '-')}",
            instruction=(
                f"The function `{name}` in python_programs/{name}.py has a bug: the tests in "
                f"python_testcases/test_{name}.py fail. Fix the function without changing the tests."
            ),
            test_command=f"python -m pytest -q -x -p no:cacheprovider python_testcases/test_{name}.py",
            allowed_globs=[f"python_programs/{name}.py"],
            diff_budget=6,
            split="heldout" if number % split_every == split_every - 1 else "train",
            test_timeout_s=timeout_s,
        )
        target = tasks_dir / task.id
        if target.exists():
            if not replace:
                skipped.append(f"{name}: task {task.id} is already in the workspace (use --replace)")
                continue
            shutil.rmtree(target)
        _quixbugs_repo(root, name, target / "repo")
        (target / "reference" / "python_programs").mkdir(parents=True)
        shutil.copy2(correct, target / "reference" / "python_programs" / f"{name}.py")
        (target / "task.toml").write_text(_toml(task), encoding="utf-8")
        commit_all(target / "repo", f"QuixBugs {name}, buggy")
        task.repo_path = str((target / "repo").relative_to(tasks_dir.parent))
        task.reference_dir = str((target / "reference").relative_to(tasks_dir.parent))
        tasks.append(task)
    return QuixBugsImport(tasks, skipped)


def _quixbugs_repo(root: Path, name: str, repo: Path) -> None:
    files = [
        f"python_programs/{name}.py",
        f"python_testcases/test_{name}.py",
        f"json_testcases/{name}.json",
        "conftest.py",
        "pytest.ini",
    ]
    files += [f"{d}/{s}" for d in ("python_programs", "python_testcases") for s in QUIXBUGS_SUPPORT]
    for rel in files:
        source = root / rel
        if source.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / rel)


def _toml(task: Task) -> str:
    import json

    lines = [
        f"{key} = {json.dumps(value)}"
        for key, value in task.model_dump(exclude_none=True).items()
        if key not in ("candidates", "repo_path", "reference_dir")
    ]
    return "\n".join(lines) + "\n"
