"""`rollout` and `branch`: rollouts per task with the configured policy, and counterfactual
branches of them at flagged steps, stored as they finish."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable
from typing import TypeVar

from rich.markup import escape

from core.agent.model import ModelError
from storage import service
from storage.workspace import Workspace
from tui.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_OK,
    BadInput,
    err,
    out,
    progress_bar,
    warn_if_unconfined,
)

T = TypeVar("T")


def _interruptible(
    what: str, one: str, total: int, job: Callable[[Callable[[str, int, int], None], threading.Event], T]
) -> T:
    """Run `job(progress, stop)` under a progress bar. The first Ctrl-C sets `stop` (finish
    nothing new, keep everything finished); the second interrupts as usual."""
    stop = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def interrupt(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, previous)
        err.print(f"interrupted: stopping; every finished {one} is kept (Ctrl-C again to abort)")

    signal.signal(signal.SIGINT, interrupt)
    try:
        with progress_bar(out) as bar:
            handle = bar.add_task(what, total=total)

            def progress(stage: str, done: int, total: int) -> None:
                bar.update(handle, completed=done, total=total)

            return job(progress, stop)
    except ModelError as exc:
        raise BadInput(str(exc)) from exc
    finally:
        signal.signal(signal.SIGINT, previous)


def rollout(args: argparse.Namespace) -> int:
    from tui.rollout_jobs import run_rollout_job

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
    warn_if_unconfined(err)
    summary = _interruptible(
        "rollouts", "rollout", n * len(tasks), lambda p, stop: run_rollout_job(ws, tasks, n, seed, p, stop)
    )
    same = summary.finished - summary.stored
    again = f"; {same} were already in the workspace (same seed, same rollout)" if same else ""
    out.print(
        f"{summary.finished} of {summary.total} rollouts done, {summary.stored} new "
        f"({len(tasks)} tasks, seed {seed}){again}"
    )
    return EXIT_FAILURE if summary.interrupted else EXIT_OK


def branch(args: argparse.Namespace) -> int:
    """`branch`: counterfactual rollouts at flagged steps, stored with their parent and step."""
    from tui.rollout_jobs import run_branch_job

    ws = Workspace.open(args.workspace)
    config = ws.config()
    if args.step is not None and not args.rollout:
        raise BadInput("--step needs --rollout: it names a step of one rollout")
    with ws.store() as store:
        if args.rollout:
            parent = store.rollout(args.rollout)
            if parent is None:
                raise BadInput(f"no rollout {args.rollout}")
            if parent.eval_id:
                raise BadInput(
                    f"rollout {args.rollout} belongs to evaluation {parent.eval_id}: branch train rollouts"
                )
            runnable = {t.id for t in store.tasks() if t.repo_path}
            if parent.task_id not in runnable:
                raise BadInput(
                    f"rollout {args.rollout} is of task {parent.task_id!r}, which has no repository here: "
                    "imported rollouts cannot be replayed (add the task with `tasks add` to branch them)"
                )
            if args.step is not None and args.step > len(parent.steps):
                raise BadInput(
                    f"rollout {args.rollout} has {len(parent.steps)} steps; there is no step {args.step}"
                )
            step = None if args.step is None else args.step - 1
            points = service.branch_points(store, config, rollout_id=args.rollout, step=step)
            if not points:
                raise BadInput(
                    f"rollout {args.rollout} has no flagged step left to branch (already branched?): "
                    "name one with --step"
                )
        else:
            try:
                tasks = [t.id for t in service.select_tasks(store, args.tasks)]
            except ValueError as exc:
                raise BadInput(str(exc)) from exc
            points = service.branch_points(store, config, tasks=tasks)
    if not points:
        out.print("nothing to branch: no flagged step that is not branched already")
        return EXIT_OK
    warn_if_unconfined(err)
    summary = _interruptible(
        "branches", "branch", len(points), lambda p, stop: run_branch_job(ws, points, args.n, p, stop)
    )
    for line in summary.refused:
        err.print(f"[yellow]refused[/] {escape(line)}", soft_wrap=True)
    out.print(
        f"{summary.points - len(summary.refused)} of {summary.points} branch points branched, "
        f"{summary.stored} new branch rollouts; `mine` pairs them with their parents"
    )
    if args.rollout and summary.refused and len(summary.refused) == summary.points:
        return EXIT_BAD_INPUT
    return EXIT_FAILURE if summary.interrupted else EXIT_OK
