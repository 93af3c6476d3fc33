"""Running model-written commands with a timeout, resource limits and a scrubbed environment.

The agent's `run_tests` tool executes code a model wrote, so every run may loop forever, fork,
print a gigabyte, fill the disk or eat the memory. `run_command` bounds all of that:

- wall clock: a deadline, after which the whole process group gets SIGKILL;
- rlimits, set in the child before exec: CPU seconds, address space, file size, processes,
  and no core files (a crashing extension must not drop a core dump into the worktree);
- output: stdout and stderr merged, read in chunks, only the head and the tail kept in memory;
- environment: a fixed allow-list, with a fresh HOME/TMPDIR that is removed afterwards;
- confinement, the best that works here (see `core.agent.confinement`): bubblewrap, else
  Linux namespaces through unshare(1), each with a private PID namespace (no process survives
  the run, setsid() or not), no network, a private /tmp and /proc, and `read_only` paths
  mounted read-only; else none, and a process that calls setsid() itself leaves the process
  group and survives the kill. `isolation()` says which is in force.

Background processes never outlive the command: once the main process exits, whatever is left
of its process group is killed too (a server started by a test would otherwise hold the output
pipe open forever). POSIX only; the rlimits and the confinement are Linux behaviour.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import resource
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.agent.confinement import (
    BASE_PATH,
    BUBBLEWRAP,
    BWRAP,
    MODES,
    NAMESPACES,
    RLIMITS,
    confined_argv,
    isolation,
)

__all__ = [
    "BUBBLEWRAP",
    "BWRAP",
    "MODES",
    "NAMESPACES",
    "RLIMITS",
    "CommandResult",
    "Limits",
    "isolation",
    "run_command",
]

_CHUNK_BYTES = 64 * 1024
_POLL_S = 0.05  # how often the exit and the deadline are checked while output is quiet
_DRAIN_GRACE_S = 2.0  # after the kill, how long to wait for the pipe to close
_PYTHON_WORD = re.compile(r"^(\s*)python3?(?=\s|$)")
_SIGNAL_REASONS = {
    signal.SIGXFSZ: "file size limit",
    signal.SIGXCPU: "CPU time limit",
    signal.SIGKILL: "CPU hard limit, out of memory, or killed",
    signal.SIGSEGV: "segmentation fault",
}


@dataclass(frozen=True)
class Limits:
    """What one command may use.

    `processes` is RLIMIT_NPROC, which counts every process of the user on the machine, not
    only the command's, and is not enforced at all for root (or with CAP_SYS_RESOURCE); it
    stops fork bombs for an ordinary user with few other processes. `memory_bytes` caps the
    address space (RLIMIT_AS), so Python raises MemoryError instead of the machine swapping;
    note that it counts reserved, not resident, memory. `output_bytes` caps the bytes kept,
    not the bytes read: the command may print any amount.
    """

    timeout_s: float = 30.0
    cpu_s: int = 60
    memory_bytes: int = 2 << 30
    file_bytes: int = 64 << 20
    processes: int = 256
    output_bytes: int = 64_000


@dataclass(frozen=True)
class CommandResult:
    """What a command did, ready to show to the agent.

    `exit_code` is None when the command was killed for the timeout, and 128 + N when signal N
    killed it (the shell's convention). `output` is stdout and stderr merged, decoded as UTF-8
    with errors replaced, and may end with a note in brackets saying why the command stopped.
    """

    exit_code: int | None
    output: str
    timed_out: bool
    truncated_bytes: int
    duration_s: float
    isolation: str


def run_command(
    command: str,
    cwd: Path,
    limits: Limits = Limits(),
    extra_env: Mapping[str, str] | None = None,
    read_only: Sequence[Path] = (),
) -> CommandResult:
    """Run the shell string `command` with `/bin/sh -c` in `cwd`, within `limits`.

    A leading word `python` or `python3` is replaced by `sys.executable`, so tests run with
    this project's interpreter (and its pytest) rather than whatever the system calls python;
    the interpreter's directory also comes first on PATH for later words.

    The environment is only PATH, HOME and TMPDIR (one fresh temporary directory, removed
    afterwards), LANG and LC_ALL (C.UTF-8), PYTHONDONTWRITEBYTECODE=1 and PYTHONHASHSEED=0,
    then `extra_env` on top: no tokens, proxies or VIRTUAL_ENV leak from this process.

    `read_only` paths stay readable but cannot be written (mounted read-only) where the command
    is confined; in rlimits mode nothing can protect them.

    The limits are set by `prlimit(1)` from util-linux, which sets them and execs the command
    (or, without it, by this interpreter doing the same): never by `preexec_fn`, which Python
    documents as unsafe in a process with threads, as the TUI and parallel rollouts are.
    """
    cwd = Path(cwd).resolve()
    if not cwd.is_dir():
        raise NotADirectoryError(f"cwd is not a directory: {cwd}")
    mode = isolation()
    shell = ["/bin/sh", "-c", _resolve_python(command)]
    protected = [Path(path).resolve() for path in read_only]
    box = Path(tempfile.mkdtemp(prefix="agentpref-sandbox-")).resolve()
    home, scratch = box / "home", box / "scratch"  # the command's HOME; the wrapper's own files
    try:
        home.mkdir()
        scratch.mkdir()
        start = time.monotonic()
        proc = subprocess.Popen(
            _limited(confined_argv(mode, shell, cwd, home, scratch, protected), _rlimit_plan(limits)),
            cwd=cwd,
            env=_environment(home, extra_env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        sink = _HeadTail(limits.output_bytes)
        try:
            timed_out = _pump(proc, sink, limits.timeout_s)
        finally:
            _kill_group(proc.pid)
            proc.kill()  # the leader too, should the group kill ever miss it: wait() must return
            if proc.stdout is not None:
                proc.stdout.close()
            returncode = proc.wait()
        duration = time.monotonic() - start
    finally:
        shutil.rmtree(box, ignore_errors=True)
    return _result(sink, returncode, timed_out, limits, duration, mode)


def _resolve_python(command: str) -> str:
    """`command` with a leading `python`/`python3` word replaced by this interpreter."""
    return _PYTHON_WORD.sub(lambda m: m.group(1) + shlex.quote(sys.executable), command, count=1)


def _environment(home: Path, extra_env: Mapping[str, str] | None) -> dict[str, str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}:{BASE_PATH}",
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }
    env.update(extra_env or {})
    return env


# prlimit's name for each limit, and the resource constant.
_LIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "as": resource.RLIMIT_AS,
    "fsize": resource.RLIMIT_FSIZE,
    "nproc": resource.RLIMIT_NPROC,
    "core": resource.RLIMIT_CORE,
}
# Without prlimit: this interpreter sets the limits and execs the command (no site, ~15 ms).
_SET_LIMITS_AND_EXEC = (
    "import json, os, resource, sys\n"
    "for name, soft, hard in json.loads(sys.argv[1]):\n"
    "    resource.setrlimit(getattr(resource, 'RLIMIT_' + name.upper()), (soft, hard))\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def _rlimit_plan(limits: Limits) -> list[tuple[str, int, int]]:
    """(limit, soft, hard) for the command, clamped to this process's hard limits.

    The CPU hard limit is one second above the soft one: SIGXCPU (reported as such) comes
    before SIGKILL.
    """
    wanted = [
        ("cpu", limits.cpu_s, limits.cpu_s + 1),
        ("as", limits.memory_bytes, limits.memory_bytes),
        ("fsize", limits.file_bytes, limits.file_bytes),
        ("nproc", limits.processes, limits.processes),
        ("core", 0, 0),
    ]
    plan = []
    for name, soft, hard in wanted:
        _, ceiling = resource.getrlimit(_LIMITS[name])
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        plan.append((name, soft, hard))
    return plan


@functools.cache
def _prlimit() -> str | None:
    return shutil.which("prlimit", path=BASE_PATH)


def _limited(argv: list[str], plan: list[tuple[str, int, int]]) -> list[str]:
    """`argv` run under the limits of `plan`: prlimit sets them, then execs it."""
    prlimit = _prlimit()
    if prlimit is not None:
        return [prlimit, *(f"--{name}={soft}:{hard}" for name, soft, hard in plan), "--", *argv]
    return [sys.executable, "-S", "-c", _SET_LIMITS_AND_EXEC, json.dumps(plan), *argv]


class _HeadTail:
    """Keeps the first and last bytes of a stream within `cap` and counts what falls between.

    Memory stays under about twice the cap plus one chunk, however much the command prints.
    """

    def __init__(self, cap: int) -> None:
        self.cap = max(cap, 0)
        self.head_cap = self.cap // 2
        self.tail_cap = self.cap - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > 2 * self.tail_cap:
            del self.tail[: len(self.tail) - self.tail_cap]

    def text(self) -> tuple[str, int]:
        """The kept output as text, with a marker where bytes were cut, and how many were."""
        del self.tail[: max(0, len(self.tail) - self.tail_cap)]
        if self.total == len(self.head) + len(self.tail):
            return (self.head + self.tail).decode("utf-8", "replace"), 0
        head, tail = _trim_partial_end(bytes(self.head)), _trim_partial_start(bytes(self.tail))
        cut = self.total - len(head) - len(tail)
        head_text = head.decode("utf-8", "replace")
        newline = "\n" if head_text and not head_text.endswith("\n") else ""
        marker = f"[… {cut} bytes of output cut (cap {self.cap} bytes) …]\n"
        return f"{head_text}{newline}{marker}{tail.decode('utf-8', 'replace')}", cut


def _trim_partial_end(data: bytes) -> bytes:
    """`data` without a UTF-8 character cut short at its end, so the head decodes cleanly."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= length else data[:-back]
    return data


def _trim_partial_start(data: bytes) -> bytes:
    """`data` without the continuation bytes of a character whose start was cut."""
    skip = 0
    while skip < min(3, len(data)) and 0x80 <= data[skip] < 0xC0:
        skip += 1
    return data[skip:]


def _pump(proc: subprocess.Popen[bytes], sink: _HeadTail, timeout_s: float) -> bool:
    """Read the merged output until the command is over; return whether it timed out.

    Over means: the main process exited or the deadline passed, then the whole process group
    got SIGKILL, then the pipe reached EOF (or a short grace passed, for a process that left the
    group). The exit is seen without reaping (WNOWAIT), so the group id cannot be reused by an
    unrelated process before the kill.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    deadline = time.monotonic() + timeout_s
    killed_at: float | None = None
    timed_out = eof = False
    idle_s = 0.001
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if killed_at is None:
                exited = _has_exited(proc)
                if exited or now >= deadline:
                    timed_out = not exited
                    _kill_group(proc.pid)
                    killed_at = now
            if killed_at is not None and (eof or now - killed_at > _DRAIN_GRACE_S):
                return timed_out
            wait_s = _POLL_S if killed_at is not None else min(_POLL_S, max(0.0, deadline - now))
            if eof:  # output closed but the process runs on: poll its exit, backing off
                time.sleep(min(idle_s, wait_s))
                idle_s = min(idle_s * 2, _POLL_S)
            elif selector.select(wait_s):
                eof = _read_into(fd, sink)


def _read_into(fd: int, sink: _HeadTail) -> bool:
    """Move one chunk from the pipe into `sink`; True at end of file."""
    try:
        chunk = os.read(fd, _CHUNK_BYTES)
    except BlockingIOError:
        return False
    if not chunk:
        return True
    sink.feed(chunk)
    return False


def _has_exited(proc: subprocess.Popen[bytes]) -> bool:
    if not hasattr(os, "waitid"):  # macOS: reaping here leaves a tiny window for pid reuse
        return proc.poll() is not None
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pgid, signal.SIGKILL)


def _result(
    sink: _HeadTail, returncode: int, timed_out: bool, limits: Limits, duration_s: float, mode: str
) -> CommandResult:
    output, cut = sink.text()
    exit_code: int | None
    if timed_out:
        exit_code = None
        note: str | None = f"[timed out after {limits.timeout_s:g} s: process group killed]"
    else:
        exit_code = 128 - returncode if returncode < 0 else returncode
        note = _signal_note(exit_code)
    if note:
        newline = "\n" if output and not output.endswith("\n") else ""
        output = f"{output}{newline}{note}\n"
    return CommandResult(exit_code, output, timed_out, cut, duration_s, mode)


def _signal_note(exit_code: int) -> str | None:
    """`[killed by SIGXFSZ: file size limit]` for 128 + N, read as the shell's "killed by signal N".

    Exit codes of this form also come from a shell or bwrap reporting a child's death (the
    namespaces mode's pid 1 is such a shell), so the
    note does not depend on how many layers sat between this process and the one that died.
    """
    if not 128 < exit_code < 128 + signal.NSIG:
        return None
    try:
        sig = signal.Signals(exit_code - 128)
    except ValueError:
        return None
    reason = _SIGNAL_REASONS.get(sig)
    return f"[killed by {sig.name}: {reason}]" if reason else f"[killed by {sig.name}]"
