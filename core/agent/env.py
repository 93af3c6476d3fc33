"""One rollout's environment: a git worktree of the task's repository and the tools on it.

Every path the model names is walked inside the worktree one name at a time, through
directory descriptors and without following a symlink out (`worktree_files`), so a test run
that swaps files for symlinks cannot make a tool read or write outside, however the swap is
timed. `..`, absolute paths, git's own data and symlinks that lead out are refused with an
error observation (the checks flag them); a symlink that stays inside is followed, and a
symlink loop is refused too. Test runs go through the sandbox (timeout, resource limits,
capped output). The final diff comes from git, and the worktree is removed when the rollout
ends, whatever happened.

The final outcome is judged on the task's own tests: the agent's edits to allowed files are
copied into a fresh checkout, so a rollout that weakened a test does not pass by doing so.

The harness's git calls never run what the repository configures (hooks, fsmonitor, filters,
external diffs, textconv), whatever a test run wrote into it, and the repository's git
config is put back as it was after every test run (`task_git`). Where the sandbox can mount
paths read-only, the repository's git dir is one of them.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from core.agent import task_git
from core.agent.sandbox import CommandResult, Limits, run_command
from core.agent.worktree_files import PathRefused, WorktreeFiles
from core.checks.files import glob_pattern
from core.schema import Observation, Task, ToolCall

# Tests run with this project's interpreter, so the plugins that pytest would auto-load are
# ours (textual snapshots...), not the task's: loading them triples the cost of a test run.
TEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
READ_CAP = 20_000  # characters of a file shown by read_file
LIST_CAP = 400  # paths shown by list_files
SEARCH_CAP = 50  # matching lines shown by search
_worktree_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _repo_lock(repo: Path) -> threading.Lock:
    # git serialises worktree bookkeeping badly across threads of one process.
    with _locks_guard:
        return _worktree_locks.setdefault(str(repo.resolve()), threading.Lock())


class TaskEnv:
    """Use as a context manager: the worktree exists inside the block only."""

    def __init__(self, task: Task, repo: Path, limits: Limits | None = None) -> None:
        self.task = task
        self.repo = Path(repo)
        self.limits = limits or Limits(timeout_s=task.test_timeout_s)
        self.root: Path | None = None
        self.finished = False
        self._tmp: str | None = None
        self._repo_git: task_git.GitDirs | None = None
        self._git: task_git.GitDirs | None = None
        self._guards: list[task_git.ConfigGuard] = []  # the repository's, then the worktree's
        self._files: WorktreeFiles | None = None

    def __enter__(self) -> TaskEnv:
        self._repo_git = task_git.discover(self.repo)  # before this rollout's tests can touch it
        self._tmp = tempfile.mkdtemp(prefix=f"agentpref-{self.task.id}-")
        root = Path(self._tmp) / "repo"
        try:
            self._guards.append(task_git.hold_guard(self._repo_git.common_dir))
            self._checkout(root)
            found = task_git.discover(root)
            self._git = task_git.GitDirs(found.git_dir, self._repo_git.common_dir, root)
            self._guards.append(task_git.ConfigGuard(found.git_dir, ("config.worktree",)))
            self._files = WorktreeFiles(root)
        except BaseException:
            self._close()
            raise
        self.root = root
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        try:
            self._restore_git_config()  # a process a test run left behind may have changed it
        finally:
            if self._files is not None:
                self._files.close()
            if self._tmp:
                shutil.rmtree(self._tmp, ignore_errors=True)  # the agent's worktree and any fresh one
            if self._guards and self._repo_git is not None:
                for guard in self._guards[1:]:
                    guard.close()
                task_git.release_guard(self._repo_git.common_dir)
                self._guards.clear()
                with _repo_lock(self.repo):
                    task_git.run(self._repo_git, "worktree", "prune")  # the folders are gone: forget them

    def _checkout(self, dest: Path) -> None:
        """A detached worktree of the task repository's HEAD at `dest`."""
        assert self._repo_git is not None
        with _repo_lock(self.repo):
            task_git.run(self._repo_git, "worktree", "add", "--detach", str(dest), "HEAD")

    def _restore_git_config(self) -> None:
        with _repo_lock(self.repo):
            for guard in self._guards:
                guard.restore()

    # -- paths --------------------------------------------------------------------------
    @property
    def worktree(self) -> Path:
        if self.root is None:
            raise RuntimeError("TaskEnv used outside its `with` block")
        return self.root

    @property
    def _tree(self) -> WorktreeFiles:
        if self._files is None:
            raise RuntimeError("TaskEnv used outside its `with` block")
        return self._files

    def files(self) -> list[str]:
        """Every regular file of the worktree, repo-relative, sorted (git's data and symlinks
        left out)."""
        return self._tree.files()

    def _files_under(self, path: str) -> list[str] | str | None:
        """The files under the folder `path`, or the real path of the file `path`, or None."""
        if path in ("", "."):
            return self.files()
        with self._tree.locate(path) as found:
            if found is None:
                return None
            if not found.is_dir:
                return found.rel
            prefix = found.rel + "/" if found.rel else ""
        return [f for f in self.files() if f.startswith(prefix)]

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
        found = self._files_under(path)
        if found is None:
            return _error(f"No such file or directory: {path}")
        if isinstance(found, str):
            return Observation(content=path)
        shown = "\n".join(found[:LIST_CAP])
        more = f"\n[… {len(found) - LIST_CAP} more]" if len(found) > LIST_CAP else ""
        return Observation(content=shown + more)

    def tool_read_file(self, path: str) -> Observation:
        with self._tree.locate(path) as found:
            if found is not None and found.is_dir:
                return _error(f"{path} is a folder, not a file: use list_files")
            if found is None or not found.is_file:
                return _error(f"No such file or directory: {path}")
            text = found.read_text(errors="replace")
        if len(text) > READ_CAP:
            text = text[:READ_CAP] + f"\n[… {len(text) - READ_CAP} more characters not shown]"
        return Observation(content=text)

    def tool_search(self, query: str, path: str = ".") -> Observation:
        if not query:
            return _error("search needs a non-empty query")
        found = self._files_under(path)
        if found is None:
            return _error(f"No such file or directory: {path}")
        hits: list[str] = []
        for rel in [found] if isinstance(found, str) else found:
            for number, line in enumerate(self._text_of(rel).splitlines(), 1):
                if query in line:
                    hits.append(f"{rel}:{number}: {line.strip()}")
        if not hits:
            return Observation(content=f"no matches for {query!r}")
        more = f"\n[… {len(hits) - SEARCH_CAP} more matches]" if len(hits) > SEARCH_CAP else ""
        return Observation(content="\n".join(hits[:SEARCH_CAP]) + more)

    def _text_of(self, rel: str) -> str:
        """The text of the file `rel` for search; "" if it is gone or no longer a file."""
        try:
            with self._tree.locate(rel) as found:
                return found.read_text(errors="replace") if found is not None and found.is_file else ""
        except PathRefused:  # swapped for a symlink out since it was listed
            return ""

    def tool_edit(self, path: str, old: str, new: str) -> Observation:
        with self._tree.locate(path) as found:
            if found is not None and found.is_dir:
                return _error(f"{path} is a folder, not a file")
            if found is None or not found.is_file:
                return _error(f"No such file or directory: {path}")
            text = found.read_text()
            count = text.count(old) if old else 0
            if count != 1:
                # Worded so that no check mistakes it for a missing file.
                return _error(
                    f"edit refused: the old text occurs {count} times in {path}; it must occur exactly once"
                )
            found.replace_text(text.replace(old, new, 1))
        return Observation(content=f"Edited {path}: replaced {len(old.splitlines()) or 1} line(s).")

    def run_test_command(self, root: Path | None = None) -> CommandResult:
        """The task's test command in `root` (the worktree by default), in the sandbox.

        The repository's git dir is mounted read-only where the sandbox can; its git config
        is put back as it was afterwards in any case.
        """
        read_only = [self._repo_git.common_dir] if self._repo_git is not None else []
        try:
            return run_command(
                self.task.test_command, root or self.worktree, self.limits, TEST_ENV, read_only=read_only
            )
        finally:
            self._restore_git_config()

    def tool_run_tests(self) -> Observation:
        result = self.run_test_command()
        if result.timed_out:  # the sandbox's output already says so
            return Observation(content=result.output, exit_code=None, error=True)
        return Observation(content=result.output, exit_code=result.exit_code)

    def tool_finish(self, message: str = "") -> Observation:
        self.finished = True
        return Observation(content="Finished.")

    # -- outcome --------------------------------------------------------------------------
    def _worktree_git(self) -> task_git.GitDirs:
        if self._git is None:
            raise RuntimeError("TaskEnv used outside its `with` block")
        return self._git

    def diff(self) -> str:
        """The agent's changes to the repository's files against HEAD.

        The tools only edit existing files, so untracked files are what the test runs left
        behind (caches, coverage data, outputs): they are not the agent's diff.
        """
        return task_git.diff(self._worktree_git(), "HEAD")

    def changed_files(self) -> list[str]:
        """Repo-relative paths of the tracked files the agent changed or deleted, sorted."""
        names = task_git.diff(self._worktree_git(), "--name-only", "--no-renames", "-z", "HEAD")
        return sorted(n for n in names.split("\0") if n)

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
            fresh_files = WorktreeFiles(fresh)
            try:
                for path in kept:
                    _copy_change(self._tree, fresh_files, path)
            finally:
                fresh_files.close()
        own = self._final_run(self.worktree)
        return (own if fresh is None else self._final_run(fresh)), own

    def _final_run(self, root: Path) -> bool:
        result = self.run_test_command(root)
        return not result.timed_out and result.exit_code == 0


def _copy_change(source: WorktreeFiles, dest: WorktreeFiles, path: str) -> None:
    """The agent's version of `path` into `dest`: its bytes, or its deletion.

    Only a regular file reached through no symlink is copied: where a symlink is involved (a
    test run may make one, a repository may hold one) nothing is followed and the checkout
    keeps HEAD's version.
    """
    try:
        with source.locate(path, follow=False) as found:
            if found is not None and not found.is_file:
                return
            data = None if found is None else found.read_bytes()
        with dest.locate(path, follow=False):  # HEAD's own symlinks stay as they are
            pass
        if data is None:
            dest.delete(path)
        else:
            dest.write_new(path, data)
    except PathRefused:
        return


def _error(message: str) -> Observation:
    return Observation(content=message, error=True)
