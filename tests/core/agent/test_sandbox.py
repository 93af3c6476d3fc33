"""The sandbox that runs model-written code: limits, kills, output caps and a clean environment.

Most tests run in every mode that works here: the plain rlimits (what containers without user
namespaces get), namespaces through unshare(1), and bubblewrap, so each fallback is tested even
on a machine that has the better one. The confinement tests (leftover processes, network, the
harness's secrets, /tmp, read-only paths) run in the two confined modes only, and skip with the
reason where a mode does not work here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.agent import confinement, sandbox
from core.agent.sandbox import BWRAP, MODES, NAMESPACES, RLIMITS, Limits, run_command

needs_proc = pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc to look for survivors")
WHY_NOT = {
    BWRAP: "bubblewrap is not usable here (bwrap not installed, or no user namespaces)",
    NAMESPACES: "namespaces are not usable here (no unshare(1) from util-linux, or unprivileged user "
    "namespaces disabled: sysctl kernel.unprivileged_userns_clone / user.max_user_namespaces)",
}


def _force(mode: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs the test under `mode`, or skips it with the reason where the real probe says no."""
    if not confinement.works(mode):
        pytest.skip(WHY_NOT[mode])
    monkeypatch.setattr(sandbox, "isolation", lambda: mode)
    return mode


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Forces one isolation for the test, each that works here in turn."""
    return _force(request.param, monkeypatch)


@pytest.fixture(params=[BWRAP, NAMESPACES])
def confined(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Forces one of the two modes that confine the test run."""
    return _force(request.param, monkeypatch)


def _living_processes_with(token: str) -> list[int]:
    """Pids whose command line contains `token`; zombies have an empty one and do not count."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline:
            found.append(int(entry.name))
    return found


def _wait_until_gone(token: str, within_s: float = 2.0) -> list[int]:
    deadline = time.monotonic() + within_s
    while (alive := _living_processes_with(token)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return alive


def _sleeper(token: str) -> str:
    """A background process that proves it started, then sleeps; `token` marks its command line."""
    return f"python -c \"open('started', 'w').close(); import time; time.sleep(30)\" {token} &"


PROBES = (confinement.isolation, confinement.works)


@pytest.fixture
def fresh_probes() -> Iterator[None]:
    """The probes run again in the test, and again after it (their results are cached)."""
    for probe in PROBES:
        probe.cache_clear()
    yield
    for probe in PROBES:
        probe.cache_clear()


def test_isolation_is_one_of_the_three_modes() -> None:
    assert sandbox.isolation() in MODES == ("bwrap", "namespaces", "rlimits")


@pytest.mark.parametrize(
    ("working", "expected"),
    [({BWRAP, NAMESPACES}, BWRAP), ({NAMESPACES}, NAMESPACES), ({BWRAP}, BWRAP), (set(), RLIMITS)],
)
def test_the_best_working_mode_is_chosen(
    working: set[str], expected: str, monkeypatch: pytest.MonkeyPatch, fresh_probes: None
) -> None:
    monkeypatch.setattr(confinement, "works", lambda mode: mode in working or mode == RLIMITS)
    assert sandbox.isolation() == expected


@pytest.mark.parametrize("tool", [None, "/bin/false", "/bin/echo"], ids=["missing", "failing", "chatty"])
def test_a_missing_or_failing_tool_does_not_count_as_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_probes: None, tool: str | None
) -> None:
    """A container without user namespaces has a bwrap or unshare that fails: that must not fail
    every command, it means falling back."""
    monkeypatch.setattr(confinement, "_bwrap_path", lambda: tool)
    monkeypatch.setattr(confinement, "_unshare_path", lambda: tool)
    assert not confinement.works(BWRAP) and not confinement.works(NAMESPACES)
    assert sandbox.isolation() == RLIMITS
    assert run_command("echo ok", tmp_path).isolation == RLIMITS


def test_namespaces_are_used_where_bwrap_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_probes: None
) -> None:
    monkeypatch.setattr(confinement, "_bwrap_path", lambda: None)
    if not confinement.works(NAMESPACES):
        pytest.skip(WHY_NOT[NAMESPACES])
    assert sandbox.isolation() == NAMESPACES
    assert run_command("echo ok", tmp_path).isolation == NAMESPACES


def test_exit_codes_and_output_of_passing_and_failing_commands(tmp_path: Path, mode: str) -> None:
    ok = run_command("echo all good", tmp_path)
    bad = run_command("echo broken >&2; exit 3", tmp_path)
    assert (ok.exit_code, ok.output, ok.timed_out, ok.isolation) == (0, "all good\n", False, mode)
    assert (bad.exit_code, bad.output, bad.truncated_bytes) == (3, "broken\n", 0)


def test_an_infinite_loop_is_killed_at_the_timeout(tmp_path: Path, mode: str) -> None:
    start = time.monotonic()
    result = run_command('python -c "while True: pass"', tmp_path, Limits(timeout_s=1))
    assert time.monotonic() - start < 3
    assert result.timed_out and result.exit_code is None
    assert "[timed out after 1 s" in result.output


@needs_proc
def test_the_timeout_kills_the_whole_process_group(tmp_path: Path, mode: str) -> None:
    token = uuid.uuid4().hex
    result = run_command(f"{_sleeper(token)} while :; do :; done", tmp_path, Limits(timeout_s=1))
    assert result.timed_out
    assert (tmp_path / "started").exists()
    assert _wait_until_gone(token) == []


@needs_proc
def test_background_processes_do_not_outlive_a_finished_command(tmp_path: Path, mode: str) -> None:
    """A leftover child holds the output pipe open; the command must still return at once."""
    token = uuid.uuid4().hex
    start = time.monotonic()
    result = run_command(f"{_sleeper(token)} sleep 0.3; echo done", tmp_path, Limits(timeout_s=10))
    assert time.monotonic() - start < 3
    assert (result.exit_code, result.output, result.timed_out) == (0, "done\n", False)
    assert (tmp_path / "started").exists()
    assert _wait_until_gone(token) == []


def test_big_output_keeps_head_and_tail_within_the_cap(tmp_path: Path, mode: str) -> None:
    command = "python -c \"print('HEAD'); print('x' * 5_000_000); print('TAIL')\""
    result = run_command(command, tmp_path, Limits(output_bytes=10_000))
    assert result.exit_code == 0
    assert len(result.output) < 10_000 + 100
    assert result.truncated_bytes == len("HEAD\n") + 5_000_001 + len("TAIL\n") - 10_000
    assert f"[… {result.truncated_bytes} bytes of output cut (cap 10000 bytes) …]" in result.output
    assert result.output.startswith("HEAD\nxxx") and result.output.endswith("xxx\nTAIL\n")


def test_the_cut_never_splits_a_utf8_character(tmp_path: Path) -> None:
    result = run_command("python -c \"print('é' * 100_000)\"", tmp_path, Limits(output_bytes=1001))
    assert result.truncated_bytes > 0
    assert "\ufffd" not in result.output
    assert result.output.startswith("é" * 250) and result.output.endswith("é" * 250 + "\n")


def test_the_memory_limit_gives_a_memory_error(tmp_path: Path, mode: str) -> None:
    result = run_command('python -c "b = bytearray(1 << 30)"', tmp_path, Limits(memory_bytes=256 << 20))
    assert result.exit_code not in (0, None)
    assert "MemoryError" in result.output


def test_the_file_size_limit_kills_with_sigxfsz(tmp_path: Path, mode: str) -> None:
    """Python itself ignores SIGXFSZ (it gets EFBIG instead), so a plain tool does the writing."""
    result = run_command("head -c 5000000 /dev/zero > big", tmp_path, Limits(file_bytes=1 << 20))
    assert result.exit_code == 128 + 25 == 153
    assert "[killed by SIGXFSZ: file size limit]" in result.output
    assert (tmp_path / "big").stat().st_size <= 1 << 20


def test_the_cpu_limit_kills_with_sigxcpu(tmp_path: Path) -> None:
    result = run_command('python -c "while True: pass"', tmp_path, Limits(cpu_s=1, timeout_s=10))
    assert not result.timed_out
    assert result.exit_code == 128 + 24
    assert "[killed by SIGXCPU: CPU time limit]" in result.output


def test_the_environment_is_scrubbed(tmp_path: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    result = run_command("env", tmp_path, extra_env={"TASK_ID": "t1"})
    env = dict(line.split("=", 1) for line in result.output.splitlines())
    assert "hunter2" not in result.output
    shell_own = {"PWD", "SHLVL", "_", "OLDPWD"}
    assert set(env) - shell_own == {
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "LC_ALL",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "TASK_ID",
    }
    assert env["HOME"] == env["TMPDIR"] != os.path.expanduser("~")
    assert not Path(env["HOME"]).exists(), "the temporary HOME is removed afterwards"
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)


@pytest.mark.parametrize("word", ["python", "python3"])
def test_python_is_this_interpreter(tmp_path: Path, mode: str, word: str) -> None:
    result = run_command(f'{word} -c "import sys; print(sys.executable)"', tmp_path)
    assert result.output == f"{sys.executable}\n"


def test_the_command_runs_in_cwd(tmp_path: Path, mode: str) -> None:
    result = run_command("pwd; echo made > here.txt", tmp_path)
    assert result.output == f"{tmp_path.resolve()}\n"
    assert (tmp_path / "here.txt").read_text() == "made\n"


def test_a_missing_cwd_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        run_command("true", tmp_path / "missing")


def test_writes_stay_inside_cwd(tmp_path: Path, confined: str) -> None:
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    in_repo = Path(__file__).with_name(f".escape-{uuid.uuid4().hex}")
    try:
        result = run_command(f"echo x > {outside}/escaped; echo x > {in_repo}; echo x > inside", work)
        assert not (outside / "escaped").exists()
        assert not in_repo.exists()
        # Read-only where the path is visible; absent where it lives under the private /tmp.
        assert result.output.count("cannot create") == 2
        assert "Read-only file system" in result.output or "Directory nonexistent" in result.output
        assert (work / "inside").exists()
    finally:
        in_repo.unlink(missing_ok=True)


# The rows of issue 11 that a confined mode closes, each open in rlimits mode.


def _late_writer(token: str, path: Path) -> str:
    """A child in a session of its own (out of the process group) that writes `path` in 1 s."""
    code = f"import time; time.sleep(1); open({str(path)!r}, 'w').write('escaped')"
    return f'setsid python -c "{code}" {token} > /dev/null 2>&1 &'


@needs_proc
def test_a_setsid_child_does_not_survive_the_run(tmp_path: Path, confined: str) -> None:
    token, late = uuid.uuid4().hex, tmp_path / "late"
    result = run_command(f"{_late_writer(token, late)} sleep 0.2; echo done", tmp_path)
    assert (result.exit_code, result.output) == (0, "done\n")
    survivors = _wait_until_gone(token, within_s=0.5)
    time.sleep(1.5)
    assert not late.exists(), "a process of the run outlived it and wrote a file afterwards"
    assert survivors == []


@needs_proc
def test_the_timeout_kills_a_setsid_child_too(tmp_path: Path, confined: str) -> None:
    token, late = uuid.uuid4().hex, tmp_path / "late"
    result = run_command(f"{_late_writer(token, late)} while :; do :; done", tmp_path, Limits(timeout_s=0.5))
    assert result.timed_out and result.exit_code is None
    survivors = _wait_until_gone(token, within_s=0.5)
    time.sleep(1.5)
    assert not late.exists(), "a process of the run outlived the kill and wrote a file afterwards"
    assert survivors == []


def test_no_network_reaches_a_listener_on_the_hosts_loopback(tmp_path: Path, confined: str) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        code = (
            "import socket; print(sorted(n for _, n in socket.if_nameindex())); "
            f"socket.create_connection(('127.0.0.1', {port}), timeout=3); print('connected')"
        )
        result = run_command(f'python -c "{code}"', tmp_path)
    assert "connected" not in result.output and result.exit_code != 0
    assert "['lo']\n" in result.output, "no interface but a loopback of its own"


def test_the_harness_environment_cannot_be_read_through_proc(tmp_path: Path, confined: str) -> None:
    """The harness here is a child Python with a secret in its environment, running the sandbox."""
    secret = f"hunter2-{uuid.uuid4().hex}"
    harness = (
        "import os, sys; from pathlib import Path; from core.agent import sandbox\n"
        f"sandbox.isolation = lambda: {confined!r}\n"
        "command = f'cat /proc/{os.getpid()}/environ; ls /proc'\n"
        f"sys.stdout.write(sandbox.run_command(command, Path({str(tmp_path)!r})).output)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", harness],
        env={**os.environ, "AGENTPREF_TEST_SECRET": secret},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert secret not in done.stdout
    assert "No such file or directory" in done.stdout, done.stdout
    pids = [int(name) for name in done.stdout.split() if name.isdigit()]
    assert max(pids) < 100, "the run's /proc shows only the processes of its own PID namespace"


def test_tmp_is_private(tmp_path: Path, confined: str) -> None:
    """Both ways: what the run writes to /tmp is not the host's, nor is the host's there."""
    mark = uuid.uuid4().hex
    written, hosts = Path("/tmp") / f"agentpref-escape-{mark}", Path("/tmp") / f"agentpref-host-{mark}"
    hosts.write_text("the host's\n")
    try:
        result = run_command(f"echo private > {written} && cat {written}; cat {hosts}", tmp_path)
        assert result.output.startswith("private\n") and "the host's" not in result.output
        assert not written.exists(), "the run's /tmp is the host's"
    finally:
        written.unlink(missing_ok=True)
        hosts.unlink()


@pytest.fixture(params=["under /tmp", "elsewhere"])
def outside_worktree(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A folder beside the worktree: in pytest's /tmp folder, or next to this file."""
    if request.param == "under /tmp":
        yield tmp_path / "shared"
        return
    folder = Path(__file__).with_name(f".read-only-{uuid.uuid4().hex}")
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def test_read_only_paths_cannot_be_written(tmp_path: Path, confined: str, outside_worktree: Path) -> None:
    """The task repository's git directory, say: readable, not writable, not remountable."""
    work = tmp_path / "work"
    git, shared = work / ".git", outside_worktree
    for folder in (git, shared):
        folder.mkdir(parents=True)
        (folder / "config").write_text("[core]\n")
    note = tmp_path / "note"
    note.write_text("kept\n")
    command = (
        "cat .git/config; echo '[core] fsmonitor = evil' >> .git/config; "
        f"echo x > {shared}/config; touch .git/new {shared}/new; echo x > {note}; "
        "mount -o remount,bind,rw .git; echo y >> .git/config; rm -rf .git/config; "
        "echo fine > mine && cat mine"
    )
    result = run_command(command, work, read_only=[git, shared, note, tmp_path / "missing"])
    assert result.output.startswith("[core]\n") and result.output.endswith("fine\n")
    assert [(f / "config").read_text() for f in (git, shared)] == ["[core]\n"] * 2
    assert note.read_text() == "kept\n"
    assert not (git / "new").exists() and not (shared / "new").exists()
    assert (work / "mine").read_text() == "fine\n", "the worktree stays writable"


def test_read_only_paths_inside_the_worktree_stay_protected_and_the_rest_writable(
    tmp_path: Path, confined: str
) -> None:
    (tmp_path / ".git" / "hooks").mkdir(parents=True)
    result = run_command(
        "echo x > .git/hooks/pre-commit; mkdir -p sub && echo y > sub/file && cat sub/file",
        tmp_path,
        read_only=[tmp_path / ".git"],
    )
    assert result.output.endswith("y\n") and result.exit_code == 0
    assert not (tmp_path / ".git" / "hooks" / "pre-commit").exists()
    assert (tmp_path / "sub" / "file").read_text() == "y\n"


@pytest.mark.parametrize("setter", ["prlimit", "interpreter"])
def test_limits_are_set_without_preexec_fn_by_prlimit_or_the_interpreter(
    tmp_path: Path, setter: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing runs Python between fork and exec (unsafe with threads); both setters apply
    every limit, soft and hard."""
    import subprocess

    from core.agent import sandbox

    if setter == "interpreter":
        monkeypatch.setattr(sandbox, "_prlimit", lambda: None)
    elif sandbox._prlimit() is None:
        pytest.skip("prlimit (util-linux) is not installed here")
    popen = subprocess.Popen

    def no_preexec(*args, **kwargs):  # type: ignore[no-untyped-def]
        assert kwargs.get("preexec_fn") is None
        return popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", no_preexec)
    limits = Limits(cpu_s=7, memory_bytes=300 << 20, file_bytes=3 << 20, processes=99)
    result = run_command(
        "python -c \"import resource as r; print([r.getrlimit(getattr(r, 'RLIMIT_' + n)) "
        "for n in ('CPU', 'AS', 'FSIZE', 'NPROC', 'CORE')])\"",
        tmp_path,
        limits,
    )
    assert result.exit_code == 0, result.output
    expected = [(7, 8), (300 << 20, 300 << 20), (3 << 20, 3 << 20), (99, 99), (0, 0)]
    assert result.output.strip() == str(expected)
