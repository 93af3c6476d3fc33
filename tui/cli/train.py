"""`--train` (and `train`): one DPO run in this process, recorded in the workspace database.

The TUI starts this same command detached (`--run-id` names the queued row it made), so a
run started from the screen and one started by hand behave the same. SIGTERM or Ctrl-C
stops at the next step, saves a checkpoint and marks the run cancelled; `--resume RUN_ID`
continues it. Under `accelerate launch` every process runs this command; only the main
one writes to the database.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.markup import escape

from core.config import apply_overrides
from core.train.run import RunHooks, TrainError, process_rank
from storage import runs, train_job, training
from storage.jobs import FINISHED
from storage.train_job import LOG_NAME
from storage.workspace import Workspace
from tui.cli.common import EXIT_FAILURE, EXIT_OK, BadInput, err, out, progress_bar


class RunLog:
    """The run's log file (followed by the TUI); also echoed when a person is watching."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.handle = path.open("a", encoding="utf-8", buffering=1)
        # Started detached, stdout already is this file: write each line once.
        self.echo = not _same_file(sys.stdout, path)

    def __call__(self, line: str, style: str = "", echo: bool = True) -> None:
        self.handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
        if self.echo and (echo or not out.is_terminal):
            out.print(f"[{style}]{escape(line)}[/]" if style else line, soft_wrap=True, markup=bool(style))

    def close(self) -> None:
        self.handle.close()


def _same_file(stream: Any, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(stream.fileno()), os.stat(path))
    except (OSError, ValueError, AttributeError):
        return False


def train(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    if args.cancel:
        with ws.store() as store:
            try:
                out.print(runs.cancel_run(store, args.cancel))
            except ValueError as exc:  # no such run, or not running
                raise BadInput(str(exc)) from exc
        return EXIT_OK
    rank, world = process_rank()
    if world > 1 and not (args.run_id or args.resume):
        raise BadInput("under accelerate launch every process must name the same run: add --run-id NAME")
    if args.resume and (args.overrides or args.human_only):
        raise BadInput("--resume keeps the run's own settings; start a new run to change them")
    resume = args.resume is not None
    with ws.store() as store:
        try:
            if resume:
                run_id = args.resume
                config, base = train_job.resume_settings(ws, store, run_id, check_status=rank == 0)
            else:
                config = apply_overrides(ws.config(), args.overrides)
                if args.human_only:
                    config = config.model_copy(
                        update={"train": config.train.model_copy(update={"human_only": True})}
                    )
                run_id, base = args.run_id, training.base_model_path(ws, config)
            if rank != 0:
                outcome = train_job.follow_main_process(ws, run_id or "", config, base, resume)
                return EXIT_FAILURE if outcome.cancelled else EXIT_OK
            adopted = train_job.adopt(store, run_id, resume)
            plan = train_job.check_start(ws, store, config, resume, adopted)
        except TrainError as exc:
            raise BadInput(str(exc)) from exc
        run_id = adopted or runs.create_run(store, None, run_id)
        log = RunLog(ws.runs_dir / run_id / LOG_NAME)
        try:
            end = train_job.run(ws, store, run_id, config, plan, log, lambda: _progress(log))
        finally:
            log.close()
    if end.error is not None:
        err.print(
            f"[bold red]run {run_id} {end.status}:[/] {escape(repr(end.error))} (log: {log.path})",
            soft_wrap=True,
        )
    return EXIT_OK if end.status == FINISHED else EXIT_FAILURE


@contextmanager
def _progress(log: RunLog) -> Iterator[RunHooks]:
    """The run's progress on a terminal: its stage, step, loss and accuracy; every log in the log."""
    with progress_bar(out, width=24, terminal_only=True, disable=not log.echo) as bar:
        handle = bar.add_task("starting", total=None)

        def on_stage(name: str) -> None:
            log(f"stage: {name}")
            bar.update(handle, description=name)

        def on_step(number: int, total: int) -> None:
            bar.update(handle, completed=number, total=total)

        def on_log(number: int, epoch: float | None, split: str, logs: dict[str, float]) -> None:
            shown = [f"{k}={v:.4g}" for k, v in sorted(logs.items()) if isinstance(v, int | float)]
            log(f"step {number} {split}: " + ", ".join(shown), echo=False)
            if "loss" in logs and "rewards/accuracies" in logs:
                prefix = "val " if split == "eval" else ""
                bar.update(
                    handle,
                    description=f"{prefix}loss {logs['loss']:.3f} acc {logs['rewards/accuracies']:.2f}",
                )

        yield RunHooks(on_stage=on_stage, on_log=on_log, on_step=on_step)
