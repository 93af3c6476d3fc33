"""`init` and `--demo`: creating a workspace, and building the offline demo in it."""

from __future__ import annotations

import argparse
import sys
import time

from rich.progress import TaskID

from storage.workspace import Workspace
from tui.cli.common import EXIT_FAILURE, EXIT_OK, BadInput, out, progress_bar


def init(args: argparse.Namespace) -> int:
    if args.seed is not None and not args.demo:
        raise BadInput("--seed applies to the demo build: add --demo")
    existed = Workspace(args.workspace).exists
    ws = Workspace.create(args.workspace)
    out.print(f"{'workspace already there' if existed else 'created workspace'}: {ws.root}")
    if args.demo:
        return fill_demo(ws, seed=args.seed)
    return EXIT_OK


def demo(args: argparse.Namespace) -> int:
    """`--demo`: build the demo workspace if it is not there yet, then open it."""
    ws = Workspace(args.workspace)
    if not demo_is_built(ws):
        ws = Workspace.create(args.workspace)
        code = fill_demo(ws)
        if code != EXIT_OK:
            return code
    return open_app(args)


def open_app(args: argparse.Namespace) -> int:
    """The TUI on a terminal; the status when output goes to a pipe or a file (scripts, CI)."""
    Workspace.open(args.workspace)  # a clear error for a missing workspace, before Textual starts
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        from tui.cli.data import status

        return status(args)
    from tui.app import run_app

    return run_app(args.workspace, annotator=getattr(args, "annotator", None))


def demo_is_built(ws: Workspace) -> bool:
    """Tasks, the model and rollouts: a build interrupted half-way is built again."""
    if not ws.exists or not (ws.root / ws.config().policy.model / "config.json").is_file():
        return False
    with ws.store() as store:
        return store.scalar("SELECT count(*) FROM rollouts") > 0


def fill_demo(ws: Workspace, seed: int | None = None) -> int:
    from tui.rollout_jobs import build_demo

    started = time.perf_counter()
    with progress_bar(out, width=10) as bar:
        bars: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = bar.add_task(stage, total=total)
            bar.update(bars[stage], completed=done, total=total)

        result = build_demo(ws, progress, seed=seed)
    out.print(
        f"demo built in {time.perf_counter() - started:.0f} s: {result['tasks']} tasks, "
        f"{result['rollouts']} rollouts, {result['branches']} branches at flagged steps, "
        f"{result['proposals']} proposals to label"
    )
    return EXIT_FAILURE if result["interrupted"] else EXIT_OK
