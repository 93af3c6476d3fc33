"""The harness's git calls on a task repository and its worktrees: nothing configured runs.

A task repository is data, and so is whatever a test run wrote into it: without bubblewrap
(or namespaces) a test can rewrite the repository's `.git/config` and `info/attributes`, and
in every mode it can rewrite the worktree's `.git` file and `.gitattributes`. Git runs
commands that config names (hooks, fsmonitor, clean/smudge filters, external diffs,
textconv), so every call here:

- runs git with a minimal environment: no system or global config (GIT_CONFIG_NOSYSTEM,
  GIT_CONFIG_GLOBAL=/dev/null), no system attributes, a HOME that does not exist, no pager,
  no terminal prompt, no replace refs;
- names the git dir, the common dir and the work tree in that environment, as found before
  any test ran, so a rewritten `.git` file or `commondir` cannot point git elsewhere;
- turns off hooks (`core.hooksPath=/dev/null`), fsmonitor and submodule recursion, sets every
  filter the config defines to nothing (listed just before the call), and gives every diff
  `--no-ext-diff --no-textconv --no-color --ignore-submodules=all` (a submodule's own
  config would be the test's to write).

`ConfigGuard` keeps the files git reads config and attributes from (the common dir's
`config`, `config.worktree` and `info/attributes`; a worktree's own `config.worktree`) as
they were, and puts them back after every test run. One snapshot per repository serves every
rollout in flight on it in this process, taken when the first one starts, so two rollouts never
restore each other's test's changes.

What remains without a sandbox: a filter that a process left running by a test adds between
the listing and the call runs once; such a process can write anywhere the user can anyway.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import secrets
import shutil
import stat
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import git

# Set for every call; precedence over any config file. Filters are added per call.
SAFE_GIT_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.pager=cat",
    "submodule.recurse=false",
    "gc.auto=0",
    "maintenance.auto=false",
)
DIFF_FLAGS = ("--no-ext-diff", "--no-textconv", "--no-color", "--ignore-submodules=all")
_BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
_TIMEOUT_S = 300.0
_GUARDED = ("config", "config.worktree", "info/attributes")  # in the common dir
_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


@dataclass(frozen=True)
class GitDirs:
    """Where git's data is: the (worktree's) git dir, the shared common dir, the work tree."""

    git_dir: Path
    common_dir: Path
    work_tree: Path | None = None


@functools.cache
def _git_program() -> str:
    found = shutil.which("git")
    if found is None:
        raise FileNotFoundError(errno.ENOENT, "git is not installed (it is not on PATH)")
    return found


def _environment(extra: dict[str, str]) -> dict[str, str]:
    program = Path(_git_program()).parent
    return {
        "PATH": f"{program}:{_BASE_PATH}",
        "HOME": "/nonexistent",
        "LANG": "C",
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ATTR_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_PAGER": "cat",
        "PAGER": "cat",
        "GIT_NO_REPLACE_OBJECTS": "1",
        **extra,
    }


def _run(argv: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> str:
    done = subprocess.run(
        [_git_program(), *(part for item in SAFE_GIT_CONFIG for part in ("-c", item)), *argv],
        cwd=cwd,
        env=_environment(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=_TIMEOUT_S,
        check=False,
    )
    if done.returncode not in ok:
        raise git.GitCommandError(["git", *argv], done.returncode, done.stderr, done.stdout)
    return done.stdout.decode("utf-8", errors="replace")


def discover(path: Path) -> GitDirs:
    """The git dirs of the repository (or worktree) at `path`, not of a folder above it.

    Call it before any test run could have touched `path`: what it finds is trusted after.
    """
    _git_program()  # git missing is its own error, not "not a repository"
    try:
        out = _run(
            ["rev-parse", "--absolute-git-dir", "--git-common-dir"],
            path,
            {"GIT_CEILING_DIRECTORIES": str(Path(path).absolute().parent)},
        )
    except (git.GitCommandError, OSError) as exc:
        raise ValueError(f"{path} is not a git repository") from exc
    git_dir, common = out.splitlines()[:2]
    return GitDirs(Path(git_dir), (Path(path) / common).resolve())


def run(dirs: GitDirs, *args: str) -> str:
    """`git args...` on `dirs`, with nothing the repository configures able to run."""
    env = {"GIT_DIR": str(dirs.git_dir), "GIT_COMMON_DIR": str(dirs.common_dir)}
    if dirs.work_tree is not None:
        env["GIT_WORK_TREE"] = str(dirs.work_tree)
    cwd = dirs.work_tree or dirs.git_dir
    listed = _run(["config", "-z", "--name-only", "--get-regexp", r"^filter\."], cwd, env, ok=(0, 1))
    return _run([*_filters_off(listed), *args], cwd, env)


def diff(dirs: GitDirs, *args: str) -> str:
    return run(dirs, "diff", *DIFF_FLAGS, *args)


def _filters_off(listed: str) -> list[str]:
    """`-c` options that set each filter named in `listed` (config keys) to nothing."""
    drivers = {key[len("filter.") : key.rindex(".")] for key in listed.split("\0") if key.count(".") >= 2}
    options: list[str] = []
    for driver in sorted(drivers):
        if "=" in driver or "\n" in driver:  # `-c` cannot name it: refuse rather than run it
            raise git.GitCommandError(["git", "config"], 1, f"a filter named {driver!r} cannot be turned off")
        for key, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false")):
            options += ["-c", f"filter.{driver}.{key}={value}"]
    return options


class ConfigGuard:
    """The config and attributes files under a git dir, put back as they were by `restore()`."""

    def __init__(self, folder: Path, names: tuple[str, ...] = _GUARDED) -> None:
        self._fd = os.open(folder, _DIR)
        self._lock = threading.Lock()
        self._saved = {name: _read_entry(self._fd, name) for name in names}

    def restore(self) -> None:
        with self._lock:
            for name, saved in self._saved.items():
                if _read_entry(self._fd, name) != saved:
                    _put_entry(self._fd, name, saved)

    def close(self) -> None:
        os.close(self._fd)


_shared: dict[Path, tuple[ConfigGuard, int]] = {}
_shared_lock = threading.Lock()


def hold_guard(common_dir: Path) -> ConfigGuard:
    """The repository's shared guard, snapshot taken now if no rollout holds it yet."""
    with _shared_lock:
        guard, holders = _shared.get(common_dir) or (ConfigGuard(common_dir), 0)
        _shared[common_dir] = (guard, holders + 1)
        return guard


def release_guard(common_dir: Path) -> None:
    with _shared_lock:
        guard, holders = _shared[common_dir]
        if holders > 1:
            _shared[common_dir] = (guard, holders - 1)
        else:
            del _shared[common_dir]
            guard.close()


# An entry is its bytes (a file), its target (a symlink), or None (nothing, or a folder).
Entry = bytes | str | None


def _read_entry(folder: int, name: str) -> Entry:
    *above, last = name.split("/")
    fd = os.dup(folder)
    try:
        for part in above:
            try:
                inner = os.open(part, _DIR, dir_fd=fd)
            except OSError:  # missing, or not a real folder: git finds nothing there either
                return None
            os.close(fd)
            fd = inner
        try:
            info = os.stat(last, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(info.st_mode):
            return os.readlink(last, dir_fd=fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        entry = os.open(last, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
        with os.fdopen(entry, "rb") as stream:
            return stream.read()
    finally:
        os.close(fd)


def _put_entry(folder: int, name: str, saved: Entry) -> None:
    *above, last = name.split("/")
    fd = os.dup(folder)
    try:
        for part in above:
            with contextlib.suppress(FileNotFoundError):
                if not stat.S_ISDIR(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode):
                    os.unlink(part, dir_fd=fd)  # a link or file in a folder's place
            if saved is None and not _exists(fd, part):
                return
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, dir_fd=fd)
            inner = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = inner
        if _exists(fd, last) and stat.S_ISDIR(os.stat(last, dir_fd=fd, follow_symlinks=False).st_mode):
            shutil.rmtree(last, dir_fd=fd)
        if saved is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(last, dir_fd=fd)
            return
        temporary = f".{last}.{secrets.token_hex(6)}.agentpref"
        if isinstance(saved, str):
            os.symlink(saved, temporary, dir_fd=fd)
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with os.fdopen(os.open(temporary, flags, 0o644, dir_fd=fd), "wb") as stream:
                stream.write(saved)
        os.replace(temporary, last, src_dir_fd=fd, dst_dir_fd=fd)
    finally:
        os.close(fd)


def _exists(folder: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True
