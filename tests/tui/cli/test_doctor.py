"""Database faults through the real command line: a damaged file is named by every command
and checked and recovered by `doctor`; a read-only workspace can be browsed, not written."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from bench import synthetic
from tui.cli import main


@pytest.fixture
def ws(tmp_path, capsys):
    path = tmp_path / "ws"
    assert main(["init", "-w", str(path)]) == 0
    assert (
        main(["import", str(synthetic.write_jsonl(tmp_path / "r.jsonl", 200, seed=4)), "-w", str(path)]) == 0
    )
    assert main(["mine", "-w", str(path)]) == 0
    capsys.readouterr()
    return path


def test_doctor_says_ok_for_a_sound_database(ws, capsys):
    assert main(["doctor", "--json", "-w", str(ws)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"path": str(ws / "agentpref.db"), "ok": True, "problems": []}


def test_a_garbled_page_is_named_by_every_command_and_doctor_recovers_the_rest(ws, tmp_path, capsys):
    db = ws / "agentpref.db"
    with db.open("r+b") as handle:
        handle.seek(4096 * (db.stat().st_size // 4096 // 2))
        handle.write(os.urandom(4096))
    for command in (["status"], ["status", "--json"], ["mine"], ["label", "--auto"], ["export", "x.jsonl"]):
        assert main([*command, "-w", str(ws)]) == 1, command
        message = capsys.readouterr().err
        assert f"{db} is damaged" in message and "doctor" in message and "Traceback" not in message

    assert main(["doctor", "-w", str(ws)]) == 1
    assert "damaged" in capsys.readouterr().out
    recovered = tmp_path / "recovered.db"
    assert main(["doctor", "--json", "--recover", str(recovered), "-w", str(ws)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["recovered"]["rows"]["rollouts"] > 150
    shutil.move(recovered, db)
    assert main(["status", "--json", "-w", str(ws)]) == 0  # the copy is a working workspace
    assert json.loads(capsys.readouterr().out)["rollouts"] == report["recovered"]["rows"]["rollouts"]


def _read_only_cli(ws, *args):
    """The CLI with the workspace on a read-only mount (root ignores file modes, so a mount
    namespace makes one), or with its modes cleared where this user is not root."""
    cli = [sys.executable, "-m", "tui", *args, "-w", str(ws)]
    if os.geteuid() != 0:
        return subprocess.run(cli, capture_output=True, text=True, timeout=300)
    if shutil.which("unshare") is None:
        pytest.skip("root without unshare(1): no way to make a read-only mount here")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, str(ws), *cli],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_read_only_workspace_can_be_browsed_and_says_why_it_cannot_be_written(ws):
    if os.geteuid() != 0:
        for path in (ws, *ws.iterdir()):
            path.chmod(path.stat().st_mode & ~0o222)
    probe = _read_only_cli(ws, "status", "--json")
    if probe.returncode != 0 and "Operation not permitted" in probe.stderr:
        pytest.skip(f"no mount namespace here: {probe.stderr.strip()}")
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout)["rollouts"] == 200
    for command in (["label", "--auto"], ["mine"]):
        done = _read_only_cli(ws, *command)
        assert done.returncode == 2, done.stderr
        assert "is read-only: browsing and `status` work" in done.stderr and "Traceback" not in done.stderr
    assert _read_only_cli(ws, "doctor").returncode == 0


def test_a_lock_held_past_the_busy_timeout_is_contention_not_damage(ws, capsys, monkeypatch):
    import sqlite3

    from storage import store as store_module

    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(ws / "agentpref.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert main(["label", "--auto", "-w", str(ws)]) == 1
    finally:
        holder.execute("ROLLBACK")
    message = capsys.readouterr().err
    assert "held its write lock" in message and "damaged" not in message and "Traceback" not in message
