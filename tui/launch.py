"""Starting background jobs as detached processes that outlive the TUI and the SSH link.

The child gets its own session (no SIGHUP when the terminal goes), no stdin, and writes to
its log file; the TUI only reads the database and that file. The row is created here first
(`queued`), so the job shows up at once and a failed start is still visible.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from storage import runs
from storage.jobs import QUEUED, job_process_alive, owned_by
from storage.rows import now
from storage.store import Store
from storage.workspace import Workspace

_children: list[subprocess.Popen[bytes]] = []


def _spawn(command: list[str], log_path: Path) -> int:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1"}
    with log_path.open("ab") as log:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
        )
    _children.append(child)
    return child.pid


def reap() -> None:
    """Collect children that ended, so they do not linger as zombies while the TUI runs."""
    _children[:] = [c for c in _children if c.poll() is None]


def cli_command(ws: Workspace, *args: str) -> list[str]:
    return [sys.executable, "-m", "tui", "-w", str(ws.root), *args]


def launch_training(ws: Workspace, overrides: list[str], resume: str | None = None) -> str:
    """Start (or resume) a training run in the background; returns its id."""
    with Store(ws.db_path) as store:
        if resume:
            run_id = resume
            row = runs.get_run(store, run_id)
            if row is not None and job_process_alive(row):
                raise ValueError(f"run {run_id} is still running (pid {row.pid}); stop it first")
            runs.update_run(store, run_id, status=QUEUED, heartbeat=now(), error=None)
        else:
            run_id = runs.create_run(store)
        log_path = ws.runs_dir / run_id / "train.log"
        runs.update_run(store, run_id, log_path=ws.to_stored(log_path))
        extra = ["--resume", run_id] if resume else ["--run-id", run_id]
        for item in overrides:
            extra += ["--set", item]
        pid = _spawn(cli_command(ws, "--train", *extra), log_path)
        runs.update_run(store, run_id, **owned_by(pid))
    return run_id


def launch_eval(ws: Workspace, run_id: str) -> str:
    """Start an evaluation of `run_id` in the background; returns its id."""
    from storage import evals

    with Store(ws.db_path) as store:
        eval_id = evals.create_eval(store, run_id)
        log_path = ws.root / "evals" / f"{eval_id}.log"
        evals.update_eval(store, eval_id, log_path=ws.to_stored(log_path))
        pid = _spawn(cli_command(ws, "eval", "--run", run_id, "--eval-id", eval_id), log_path)
        evals.update_eval(store, eval_id, **owned_by(pid))
    return eval_id
