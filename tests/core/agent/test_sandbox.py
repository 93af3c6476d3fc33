"""The sandbox that runs model-written code: limits, kills, output caps and a clean environment.

Most tests run twice, under the plain rlimits (what containers without user namespaces get)
and under bubblewrap where it works here, so the fallback is tested even on a machine that
has bubblewrap.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import pytest

from core.agent import sandbox
from core.agent.sandbox import BUBBLEWRAP, RLIMITS, Limits, run_command

needs_proc = pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc to look for survivors")
needs_bubblewrap = pytest.mark.skipif(
    sandbox.isolation() != BUBBLEWRAP,
    reason="bubblewrap is not usable here (not installed, or no user namespaces): rlimits only",
)


@pytest.fixture(params=[RLIMITS, BUBBLEWRAP])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Forces one isolation for the test; bubblewrap only where the real probe says it works."""
    if request.param == BUBBLEWRAP and sandbox.isolation() != BUBBLEWRAP:
        pytest.skip("bubblewrap is not usable here (not installed, or no user namespaces)")
    monkeypatch.setattr(sandbox, "isolation", lambda: request.param)
    return str(request.param)


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


def test_isolation_is_one_of_the_two_values() -> None:
    assert sandbox.isolation() in (BUBBLEWRAP, RLIMITS)


@pytest.mark.parametrize("bwrap", [None, "/bin/false"], ids=["missing", "failing"])
def test_a_missing_or_failing_bwrap_falls_back_to_rlimits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bwrap: str | None
) -> None:
    """A container without user namespaces has bwrap that fails: that must not fail every command."""
    monkeypatch.setattr(sandbox, "_bwrap_path", lambda: bwrap)
    sandbox.isolation.cache_clear()
    try:
        assert sandbox.isolation() == RLIMITS
        assert run_command("echo ok", tmp_path).isolation == RLIMITS
    finally:
        sandbox.isolation.cache_clear()


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


@needs_bubblewrap
def test_bubblewrap_keeps_writes_inside_cwd(tmp_path: Path) -> None:
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


@needs_bubblewrap
def test_bubblewrap_has_no_network(tmp_path: Path) -> None:
    command = 'python -c "import socket; print(sorted(name for _, name in socket.if_nameindex()))"'
    assert run_command(command, tmp_path).output == "['lo']\n"
