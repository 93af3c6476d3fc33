"""`rollout`: N rollouts per task with the configured policy, stored as they finish."""

from __future__ import annotations

import argparse
import signal
import threading

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.agent.model import ModelError
from storage import service
from storage.workspace import Workspace
from tui.cli import EXIT_FAILURE, EXIT_OK, BadInput, err, out


def rollout(args: argparse.Namespace) -> int:
    from tui.jobs import run_rollout_job

    ws = Workspace.open(args.workspace)
    config = ws.config()
    with ws.store() as store:
        try:
            tasks = service.select_tasks(store, args.tasks)
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
    if not tasks:
        raise BadInput(f"no runnable tasks match {args.tasks!r}: add some with `tasks add` or `init --demo`")
    n = args.n if args.n is not None else config.rollout.n
    seed = config.rollout.seed if args.seed is None else args.seed
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def interrupt(signum: int, frame: object) -> None:
        # First Ctrl-C: finish nothing new, keep everything finished. Second: the usual.
        stop.set()
        signal.signal(signal.SIGINT, previous)
        err.print("interrupted: stopping; every finished rollout is kept (Ctrl-C again to abort)")

    signal.signal(signal.SIGINT, interrupt)
    try:
        with Progress(
            TextColumn("rollouts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=out
        ) as bar:
            handle = bar.add_task("rollouts", total=n * len(tasks))

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(handle, completed=done, total=total)

            summary = run_rollout_job(ws, tasks, n, seed, progress, stop)
    except ModelError as exc:
        raise BadInput(str(exc)) from exc
    finally:
        signal.signal(signal.SIGINT, previous)
    same = summary.finished - summary.stored
    again = f"; {same} were already in the workspace (same seed, same rollout)" if same else ""
    out.print(
        f"{summary.finished} of {summary.total} rollouts done, {summary.stored} new "
        f"({len(tasks)} tasks, seed {seed}){again}"
    )
    return EXIT_FAILURE if summary.interrupted else EXIT_OK
