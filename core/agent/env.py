"""One rollout's environment: a git worktree of the task's repository and the tools on it.

Every path the model names is resolved inside the worktree; `..`, absolute paths and
symlinks that lead out are refused with an error observation (the checks flag them). Test
runs go through the sandbox (timeout, resource limits, capped output). The final diff comes
from git, and the worktree is removed when the rollout ends, whatever happened.

The final outcome is judged on the task's own tests: the agent's edits to allowed files are
copied into a fresh checkout, so a rollout that weakened a test does not pass by doing so.
The harness's git calls never run what the repository configures (hooks, fsmonitor).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import git

from core.agent.sandbox import Limits, run_command
from core.checks.files import glob_pattern
from core.schema import Observation, Task, ToolCall

# Tests run with this project's interpreter, so the plugins that pytest would auto-load are
# ours (textual snapshots...), not the task's: loading them triples the cost of a test run.
TEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
READ_CAP = 20_000  # characters of a file shown by read_file
LIST_CAP = 400  # paths shown by list_files
SEARCH_CAP = 50  # matching lines shown by search
# A task repository is data: its config must not make the harness's git run commands.
SAFE_GIT_CONFIG = ["core.hooksPath=/dev/null", "core.fsmonitor=false"]
_worktree_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class PathRefused(ValueError):
    """A path that leaves the worktree."""


def _repo_lock(repo: Path) -> threading.Lock:
    # git serialises worktree bookkeeping badly across threads of one process.
    with _locks_guard:
        return _worktree_locks.setdefault(str(repo.resolve()), threading.Lock())


def _git(path: Path) -> git.Git:
    """git in `path`, with hooks and fsmonitor off for the next command."""
    return git.Git(path)(c=SAFE_GIT_CONFIG)


class TaskEnv:
    """Use as a context manager: the worktree exists inside the block only."""

    def __init__(self, task: Task, repo: Path, limits: Limits | None = None) -> None:
        self.task = task
        self.repo = Path(repo)
        self.limits = limits or Limits(timeout_s=task.test_timeout_s)
        self.root: Path | None = None
        self.finished = False
        self._tmp: str | None = None

    def __enter__(self) -> TaskEnv:
        try:
            git.Repo(self.repo)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise ValueError(f"{self.repo} is not a git repository") from exc
        self._tmp = tempfile.mkdtemp(prefix=f"agentpref-{self.task.id}-")
        root = Path(self._tmp) / "repo"
        try:
            self._checkout(root)
        except BaseException:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        self.root = root
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)  # the agent's worktree and any fresh one
        if self.root is not None:
            with _repo_lock(self.repo):
                _git(self.repo).worktree("prune")  # the folders are gone: forget them

    def _checkout(self, dest: Path) -> None:
        """A detached worktree of the task repository's HEAD at `dest`."""
        with _repo_lock(self.repo):
            _git(self.repo).worktree("add", "--detach", str(dest), "HEAD")

    # -- paths --------------------------------------------------------------------------
    @property
    def worktree(self) -> Path:
        if self.root is None:
            raise RuntimeError("TaskEnv used outside its `with` block")
        return self.root

    def resolve(self, path: str) -> Path:
        """The real path inside the worktree, or PathRefused."""
        if not path or path.startswith(("/", "~")) or "\x00" in path:
            raise PathRefused(f"refused: {path!r} is not a path inside the repository")
        root = self.worktree.resolve()
        target = (root / path).resolve()
        if target != root and root not in target.parents:
            raise PathRefused(f"refused: {path!r} leads outside the repository")
        if target == root / ".git" or root / ".git" in target.parents:
            raise PathRefused(f"refused: {path!r} is git's own data")
        return target

    def files(self) -> list[str]:
        """Every file of the worktree, repo-relative, sorted (git's data left out)."""
        root = self.worktree
        return sorted(
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(root).parts
        )

    # -- tools --------------------------------------------------------------------------
    def call(self, call: ToolCall) -> Observation:
        """Run one tool call; every failure is an error observation, never an exception."""
        handler = getattr(self, f"tool_{call.name}", None)
        if handler is None:
            return _error(
                f"unknown tool {call.name!r}: use list_files, read_file, search, edit, run_tests or finish"
            )
        wrong = [k for k, v in call.arguments.items() if not isinstance(v, str)]
        if wrong:
            return _error(f"bad arguments for {call.name}: {', '.join(wrong)} must be text")
        try:
            return handler(**call.arguments)
        except PathRefused as exc:
            return _error(str(exc))
        except TypeError as exc:
            return _error(f"bad arguments for {call.name}: {exc}")
        except UnicodeError:
            return _error(f"{call.arguments.get('path', '')} is not a UTF-8 text file")
        except OSError as exc:
            return _error(f"{call.name} failed: {exc.strerror or exc}")

    def tool_list_files(self, path: str = ".") -> Observation:
        base = self.worktree if path in ("", ".") else self.resolve(path)
        if not base.exists():
            return _error(f"No such file or directory: {path}")
        if base.is_file():
            return Observation(content=path)
        root = self.worktree.resolve()
        found = [f for f in self.files() if (root / f).resolve().is_relative_to(base.resolve())]
        shown = "\n".join(found[:LIST_CAP])
        more = f"\n[… {len(found) - LIST_CAP} more]" if len(found) > LIST_CAP else ""
        return Observation(content=shown + more)

    def tool_read_file(self, path: str) -> Observation:
        target = self.resolve(path)
        if target.is_dir():
            return _error(f"{path} is a folder, not a file: use list_files")
        if not target.is_file():
            return _error(f"No such file or directory: {path}")
        text = target.read_text(encoding="utf-8", errors="replace")
        if len(text) > READ_CAP:
            text = text[:READ_CAP] + f"\n[… {len(text) - READ_CAP} more characters not shown]"
        return Observation(content=text)

    def tool_search(self, query: str, path: str = ".") -> Observation:
        if not query:
            return _error("search needs a non-empty query")
        base = self.worktree if path in ("", ".") else self.resolve(path)
        if not base.exists():
            return _error(f"No such file or directory: {path}")
        hits: list[str] = []
        for rel in self.files():
            target = self.worktree / rel
            if base.is_file() and target.resolve() != base.resolve():
                continue
            if not base.is_file() and not target.resolve().is_relative_to(base.resolve()):
                continue
            for number, line in enumerate(
                target.read_text(encoding="utf-8", errors="replace").splitlines(), 1
            ):
                if query in line:
                    hits.append(f"{rel}:{number}: {line.strip()}")
        if not hits:
            return Observation(content=f"no matches for {query!r}")
        more = f"\n[… {len(hits) - SEARCH_CAP} more matches]" if len(hits) > SEARCH_CAP else ""
        return Observation(content="\n".join(hits[:SEARCH_CAP]) + more)

    def tool_edit(self, path: str, old: str, new: str) -> Observation:
        target = self.resolve(path)
        if target.is_dir():
            return _error(f"{path} is a folder, not a file")
        if not target.is_file():
            return _error(f"No such file or directory: {path}")
        text = target.read_text(encoding="utf-8")
        count = text.count(old) if old else 0
        if count != 1:
            # Worded so that no check mistakes it for a missing file.
            return _error(
                f"edit refused: the old text occurs {count} times in {path}; it must occur exactly once"
            )
        target.write_text(text.replace(old, new, 1), encoding="utf-8")
        return Observation(content=f"Edited {path}: replaced {len(old.splitlines()) or 1} line(s).")

    def tool_run_tests(self) -> Observation:
        result = run_command(self.task.test_command, self.worktree, self.limits, TEST_ENV)
        if result.timed_out:  # the sandbox's output already says so
            return Observation(content=result.output, exit_code=None, error=True)
        return Observation(content=result.output, exit_code=result.exit_code)

    def tool_finish(self, message: str = "") -> Observation:
        self.finished = True
        return Observation(content="Finished.")

    # -- outcome --------------------------------------------------------------------------
    def diff(self) -> str:
        """The agent's changes to the repository's files against HEAD.

        The tools only edit existing files, so untracked files are what the test runs left
        behind (caches, coverage data, outputs): they are not the agent's diff.
        """
        return str(_git(self.worktree).diff("HEAD"))

    def changed_files(self) -> list[str]:
        """Repo-relative paths of the tracked files the agent changed or deleted, sorted."""
        names = _git(self.worktree).diff("--name-only", "--no-renames", "-z", "HEAD")
        return sorted(n for n in str(names).split("\0") if n)

    def final_outcomes(self) -> tuple[bool, bool]:
        """(tests_passed, tests_passed_own), run by the harness after the agent stopped.

        `tests_passed` is the honest outcome: a fresh checkout of HEAD with only the agent's
        changes to allowed files, so edited tests (or any other file it may not touch) count
        for nothing. `tests_passed_own` runs the worktree as the agent left it. When every
        change is allowed the two are the same run. A timeout fails.
        """
        allowed = glob_pattern(tuple(self.task.allowed_globs)) if self.task.allowed_globs else None
        changed = self.changed_files()
        kept = [path for path in changed if allowed is None or allowed.fullmatch(path)]
        fresh: Path | None = None
        if len(kept) < len(changed):  # copied before any test run can touch the worktree
            fresh = self.worktree.parent / "fresh"
            self._checkout(fresh)
            for path in kept:
                _copy_change(self.worktree, fresh, path)
        own = self._final_run(self.worktree)
        return (own if fresh is None else self._final_run(fresh)), own

    def _final_run(self, root: Path) -> bool:
        result = run_command(self.task.test_command, root, self.limits, TEST_ENV)
        return not result.timed_out and result.exit_code == 0


def _copy_change(source_root: Path, dest_root: Path, path: str) -> None:
    """The agent's version of `path` into `dest_root`: its bytes, or its deletion.

    Only a regular file is copied: where a symlink is involved (a test run may make one, a
    repository may hold one) nothing is followed and the checkout keeps HEAD's version.
    """
    source, dest = source_root / path, dest_root / path
    if source.is_symlink() or dest.is_symlink():
        return
    if not dest.resolve().is_relative_to(dest_root.resolve()):
        return
    if not source.resolve().is_relative_to(source_root.resolve()):
        return
    if not source.exists():
        dest.unlink(missing_ok=True)
    elif source.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(source.read_bytes())


def _error(message: str) -> Observation:
    return Observation(content=message, error=True)
