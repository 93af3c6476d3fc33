"""Where a test run is confined: bubblewrap, Linux namespaces through unshare(1), or rlimits alone.

`isolation()` picks the best mode that works on this machine, probed once per process by
running `true` through exactly the wrapper a test run gets, so a half-working setup (bwrap
without user namespaces, a container that masks /proc) falls back instead of failing every run:

- `bwrap`: bubblewrap builds the sandbox. Everything outside the worktree and the fresh HOME is
  read-only, /tmp and /dev are private, the network namespace has only its own loopback, and
  in a private PID namespace no process outlives the run.
- `namespaces`: the same kernel features through `unshare(1)` from util-linux, for machines
  without bubblewrap but with unprivileged user namespaces. A PID namespace (pid 1 is a shell
  that waits for the command, so when it exits the kernel kills every process left, setsid()
  or not; `--kill-child` takes it down when the harness kills unshare), a network namespace
  whose only interface is a loopback that stays down, a tmpfs on /tmp and /dev/shm with only
  the worktree, HOME and the interpreter bound back in, and a /proc that shows the namespace's
  own processes only. The mounts are made by a mapped root; the command then runs in a nested
  user namespace as the caller's own uid, without the capabilities to undo them. As under
  bwrap, the rest of the file system is read-only: every other writable mount of the host
  (/proc, /sys and /dev aside) is remounted read-only, the worktree and HOME bound back
  writable on top; a mount the kernel will not remount stays as it was.
- `rlimits`: nothing but the limits and the scrubbed environment that every mode has.

`read_only` paths (the task repository's git directory) are bind-mounted read-only in both
confined modes; rlimits mode cannot protect them.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

BWRAP = "bwrap"
NAMESPACES = "namespaces"
RLIMITS = "rlimits"
MODES = (BWRAP, NAMESPACES, RLIMITS)  # best first
BUBBLEWRAP = BWRAP  # the constant's old name

# What rlimits mode means and how to leave it: for the CLI's warning, the TUI and the refusal.
UNCONFINED = (
    "test runs are confined by rlimits only: neither bubblewrap nor unprivileged user namespaces "
    "work here, so a test run can reach the network, leave processes running, read the harness's "
    "environment and write wherever this user can"
)
HOW_TO_CONFINE = (
    "install bubblewrap (e.g. `apt-get install bubblewrap`) or enable unprivileged user namespaces "
    "(`sysctl kernel.unprivileged_userns_clone=1`, `user.max_user_namespaces` above 0, "
    "`kernel.apparmor_restrict_unprivileged_userns=0`; unshare(1) comes with util-linux)"
)
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
_PROBE_TIMEOUT_S = 10.0
_TMP = Path("/tmp")
# Private /tmp, then the namespaces; the probe runs exactly these so a half-working bwrap
# (e.g. no permission to set up the loopback of a new network namespace) is caught up front.
_BWRAP_ROOT = ("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp")
# Run as root, bwrap keeps every capability (the command could remount a read-only path) unless
# told to drop them.
_BWRAP_NAMESPACES = (
    "--unshare-net",
    "--unshare-pid",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
)
_UNSHARE = (
    "--user",
    "--map-root-user",  # root of the new user namespace may mount; the command runs unprivileged
    "--pid",
    "--fork",
    "--kill-child",
    "--mount-proc",
    "--mount",
    "--propagation=private",
    "--net",
)
# The flags statvfs reports that a read-only remount must repeat: in a user namespace the kernel
# refuses to clear the ones the source mount has (util-linux 2.38 does not repeat them itself).
_LOCKED_FLAGS = (
    ("ST_NOSUID", "nosuid"),
    ("ST_NODEV", "nodev"),
    ("ST_NOEXEC", "noexec"),
    ("ST_NOATIME", "noatime"),
    ("ST_NODIRATIME", "nodiratime"),
    ("ST_RELATIME", "relatime"),
)


@functools.cache
def _bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def _unshare_path() -> str | None:
    return shutil.which("unshare", path=BASE_PATH)


@functools.cache
def isolation() -> str:
    """The mode test runs get here: `"bwrap"`, else `"namespaces"`, else `"rlimits"`."""
    return next((mode for mode in MODES[:-1] if works(mode)), RLIMITS)


@functools.cache
def works(mode: str) -> bool:
    """Whether `mode` builds its sandbox here: `true` run once through its wrapper, with a
    read-only path, must exit 0 with no output."""
    if mode == RLIMITS:
        return True
    if (_bwrap_path() if mode == BWRAP else _unshare_path()) is None:
        return False
    with tempfile.TemporaryDirectory(prefix="agentpref-probe-") as scratch:
        work, home, box = (Path(scratch).resolve() / name for name in ("work", "home", "box"))
        for folder in (work / "ro", home, box):
            folder.mkdir(parents=True)
        argv = confined_argv(mode, ["/bin/sh", "-c", "true"], work, home, box, [work / "ro"])
        try:
            done = subprocess.run(
                argv,
                cwd=work,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                env={"PATH": BASE_PATH},
                timeout=_PROBE_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return False
    return done.returncode == 0 and not done.stdout and not done.stderr


def confined_argv(
    mode: str, shell: list[str], cwd: Path, home: Path, scratch: Path, read_only: Sequence[Path] = ()
) -> list[str]:
    """`shell` wrapped for `mode`, run from `cwd`: writable `cwd` and `home`, readable `read_only`.

    `scratch` is a private folder of this run that the command never sees, where the namespaces
    mode writes its fstab and builds the new /tmp. Every path must be absolute and resolved;
    `read_only` paths that do not exist are left out. In rlimits mode `shell` comes back as is.
    """
    read_only = [path for path in read_only if path.exists()]
    bwrap, unshare = _bwrap_path(), _unshare_path()
    if mode == BWRAP and bwrap is not None:
        return _bwrap_argv(bwrap, shell, cwd, home, read_only)
    if mode == NAMESPACES and unshare is not None:
        return _unshare_argv(unshare, shell, cwd, home, scratch, read_only)
    return shell


def interpreter_under_tmp() -> list[Path]:
    """This interpreter's prefixes that a private /tmp would hide (a venv made in /tmp)."""
    prefixes = {Path(prefix).resolve() for prefix in (sys.prefix, sys.base_prefix)}
    return sorted(prefix for prefix in prefixes if prefix.is_relative_to(_TMP.resolve()))


def _binds(cwd: Path, home: Path, read_only: Sequence[Path]) -> list[tuple[Path, bool]]:
    """(path, writable), shallowest first, so a path inside another is mounted on top of it."""
    wanted = [(cwd, True), (home, True)]
    wanted += [(path, False) for path in (*interpreter_under_tmp(), *read_only)]
    unique = list(dict(wanted).items())  # a path named twice keeps its last (read-only) wish
    return sorted(unique, key=lambda bind: len(bind[0].parts))


def _bwrap_argv(bwrap: str, shell: list[str], cwd: Path, home: Path, read_only: Sequence[Path]) -> list[str]:
    binds: list[str] = []
    for path, writable in _binds(cwd, home, read_only):
        binds += ["--bind" if writable else "--ro-bind", str(path), str(path)]
    return [bwrap, *_BWRAP_ROOT, *binds, *_BWRAP_NAMESPACES, "--chdir", str(cwd), "--", *shell]


def _unshare_argv(
    unshare: str, shell: list[str], cwd: Path, home: Path, scratch: Path, read_only: Sequence[Path]
) -> list[str]:
    """unshare(1) running a setup script as pid 1 of the new namespaces, then `shell` under it.

    The mounts are one fstab for one `mount -a` (a mount(8) call costs about 2 ms): a tmpfs on
    `scratch`/stage, the paths under /tmp bound into it (bound first, since /tmp hides them once
    covered), the read-only binds; then the stage is moved onto /tmp. The script stays pid 1,
    waiting: a command that were pid 1 itself would ignore the SIGXCPU and SIGXFSZ of its
    limits, which the kernel does not deliver to an init with default handlers.
    """
    tmp = _TMP.resolve()
    stage = scratch / "stage"
    stage.mkdir(exist_ok=True)
    fstab = [("agentpref-tmp", stage, "tmpfs", "mode=1777,nosuid,nodev")]
    files: list[tuple[Path, Path, str]] = []  # (source, target, options) of files atop the new /tmp
    bound: list[tuple[Path, bool]] = []
    for path, writable in _binds(cwd, home, read_only):
        in_tmp = path.is_relative_to(tmp)
        on_new_tmp = in_tmp and not any(path.is_relative_to(other) for other, _ in bound if other != path)
        bound.append((path, writable))
        target = stage / path.relative_to(tmp) if in_tmp else path
        options = "bind" if writable else f"bind,{_read_only_options(path)}"
        if on_new_tmp and not path.is_dir():
            files.append((path, target, options))  # X-mount.mkdir would make a folder
        else:
            fstab.append((str(path), target, "none", options + (",X-mount.mkdir" if on_new_tmp else "")))
    if Path("/dev/shm").is_dir():
        fstab.append(("agentpref-shm", Path("/dev/shm"), "tmpfs", "mode=1777,nosuid,nodev"))
    table = scratch / "fstab"
    table.write_text(
        "".join(
            f"{_fstab(source)} {_fstab(str(target))} {kind} {options} 0 0\n"
            for source, target, kind, options in fstab
        )
    )
    q = shlex.quote
    # mount(8) prints a hint about systemd to stdout as uid 0 when /etc/fstab changed since boot.
    script = ["set -e", f"mount -a -T {q(str(table))} > /dev/null"]
    for source, target, options in files:
        script += [f"mkdir -p {q(str(target.parent))}", f": > {q(str(target))}"]
        script.append(f"mount -o {options} {q(str(source))} {q(str(target))} > /dev/null")
    script.append(f"mount --move {q(str(stage))} {q(str(tmp))} > /dev/null")
    # Everything else the host can write becomes read-only: the binds above are mounts of their
    # own and keep their flags. Best effort per mount (a mount the kernel will not remount stays
    # as it was), so one odd mount cannot cost the run its whole sandbox.
    for point, options in _writable_mounts():
        script.append(f"mount -o remount,bind,{options} {q(point)} > /dev/null 2>&1 || true")
    drop = f"{q(unshare)} --user --map-user={os.getuid()} --map-group={os.getgid()} --"
    script += [f"cd {q(str(cwd))}", "set +e", f'{drop} "$@"', "exit $?"]
    return [unshare, *_UNSHARE, "--", "/bin/sh", "-c", "\n".join(script), "agentpref-sandbox", *shell]


# Mounts left writable under a read-only host: the kernel's, and the private /tmp and /dev/shm.
_KEPT_WRITABLE = (Path("/proc"), Path("/sys"), Path("/dev"), _TMP)


def _writable_mounts() -> list[tuple[str, str]]:
    """(mount point, read-only remount options) of every writable mount of the host but those in
    `_KEPT_WRITABLE`, from /proc/self/mountinfo (the new mount namespace starts as its copy)."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    kept_writable = {path.resolve() for path in _KEPT_WRITABLE}
    mounts = []
    for line in lines:
        fields = line.split()
        if len(fields) < 6:
            continue
        point = _unescape(fields[4])
        options = fields[5].split(",")
        if "rw" not in options or any(Path(point).is_relative_to(k) for k in kept_writable):
            continue
        locked = [name for _, name in _LOCKED_FLAGS if name in options]
        mounts.append((point, ",".join(["ro", *locked])))
    return mounts


def _unescape(field: str) -> str:
    """A mountinfo field: octal escapes (space, tab, newline, backslash) back to characters."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _fstab(field: str) -> str:
    """A path as an fstab field: space, tab, newline and backslash as octal escapes."""
    return "".join(f"\\{ord(char):03o}" if char in " \t\n\\" else char for char in field)


def _read_only_options(path: Path) -> str:
    flags = os.statvfs(path).f_flag
    kept = [name for attribute, name in _LOCKED_FLAGS if flags & getattr(os, attribute, 0)]
    return ",".join(["ro", *kept])
