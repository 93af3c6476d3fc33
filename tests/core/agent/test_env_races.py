"""The file tools against a worktree that changes under them: symlink loops and swaps.

A test run (or a process it left behind) can replace any file or folder of the worktree with
a symlink at any moment. Checking a path and then opening it is a race such a process wins
now and then, so the tools must never read or write through a symlink that leads out, however
the swaps fall. The race tests run a few thousand calls against a thread that swaps as fast as
it can; they assert on what came back and what was written, never on timings.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from core.agent.env import TaskEnv
from core.schema import ToolCall

ROUNDS = 3000
SECRET = "SECRET outside old\n"  # `old` occurs once: an edit through a symlink would succeed
INSIDE = "inside old\n"


def call(env: TaskEnv, name: str, **arguments: str):
    return env.call(ToolCall(name=name, arguments=arguments))


@pytest.mark.parametrize("tool", ["read_file", "edit", "list_files", "search"])
def test_a_symlink_loop_is_an_error_observation(task_repo, tool):
    task, repo = task_repo
    extra = {"edit": {"old": "a", "new": "b"}, "search": {"query": "a"}}
    with TaskEnv(task, repo) as env:
        os.symlink("loop-b", env.worktree / "loop-a")
        os.symlink("loop-a", env.worktree / "loop-b")
        os.symlink("self", env.worktree / "calc" / "self")
        for path in ("loop-a", "loop-a/x.py", "calc/self", "calc/self/y"):
            obs = call(env, tool, path=path, **extra.get(tool, {}))
            assert obs.error and "refused" in obs.content and "symbolic links" in obs.content
        assert "calc/stats.py" in call(env, "list_files").content  # the loops are left out
        assert "calc/stats.py:2:" in call(env, "search", query="len(values)").content


def test_a_symlink_that_stays_inside_is_followed(task_repo):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        os.symlink("calc", env.worktree / "lib")
        os.symlink("../README.md", env.worktree / "calc" / "readme")
        assert "len(values) - 1" in call(env, "read_file", path="lib/stats.py").content
        assert not call(env, "edit", path="calc/readme", old="# calc", new="# Calc").error
        assert (env.worktree / "README.md").read_text() == "# Calc\n"
        assert (env.worktree / "calc" / "readme").is_symlink()  # the link itself is left alone
        assert "lib/stats.py" not in call(env, "list_files").content  # each file once, by its name
        assert call(env, "read_file", path="lib/../../etc/passwd").error


def _swap_forever(stop: threading.Event, target: Path, outside: Path, swaps: list[object]) -> None:
    """Until `stop`: `target` (a file or a folder) is itself, then a symlink to `outside`.

    Appends to `swaps` once per swap, or the error that stopped it."""
    aside = target.with_name(target.name + ".aside")
    try:
        while not stop.is_set():
            os.rename(target, aside)
            _relink(target, str(outside))
            os.unlink(target)
            os.rename(aside, target)
            swaps.append(True)
    except OSError as exc:
        swaps.append(exc)


def _relink(target: Path, to: str) -> None:
    temporary = target.with_name(target.name + ".link")
    os.symlink(to, temporary)
    os.replace(temporary, target)


@pytest.mark.parametrize("swapped", ["file", "folder"])
def test_a_path_swapped_for_a_symlink_never_reads_or_writes_outside(task_repo, tmp_path, swapped):
    task, repo = task_repo
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "swap.txt").write_text(SECRET)
    with TaskEnv(task, repo) as env:
        work = env.worktree / "calc"
        (work / "real").mkdir()
        (work / "real" / "swap.txt").write_text(INSIDE)
        # calc/swap.txt, or the folder calc/real holding it: itself, then a symlink out
        path = "calc/swap.txt" if swapped == "file" else "calc/real/swap.txt"
        (work / "swap.txt").write_text(INSIDE)
        target, escape = (
            (work / "swap.txt", outside / "swap.txt") if swapped == "file" else (work / "real", outside)
        )
        stop = threading.Event()
        swaps: list[object] = []
        swapper = threading.Thread(target=_swap_forever, args=(stop, target, escape, swaps), daemon=True)
        swapper.start()
        leaks: list[str] = []
        try:
            for _ in range(ROUNDS):
                read = call(env, "read_file", path=path)
                if "SECRET" in read.content:
                    leaks.append(f"read_file returned {read.content!r}")
                edit = call(env, "edit", path=path, old="old", new="old!")  # still once: edits go on
                if (outside / "swap.txt").read_text() != SECRET:
                    leaks.append(f"edit wrote outside: {edit.content!r}")
                    (outside / "swap.txt").write_text(SECRET)
                found = call(env, "search", query="SECRET")
                if "SECRET outside" in found.content:
                    leaks.append(f"search showed {found.content!r}")
        finally:
            stop.set()
            swapper.join(timeout=60)
        alive = swapper.is_alive()
    assert swaps and all(s is True for s in swaps) and not alive  # it swapped until told to stop
    assert not leaks, f"{len(leaks)} of {ROUNDS} rounds leaked, first: {leaks[0]}"
    assert (outside / "swap.txt").read_text() == SECRET
