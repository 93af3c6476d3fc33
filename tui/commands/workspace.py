"""`init` and `--demo`: creating a workspace, and building the offline demo in it."""

from __future__ import annotations

import argparse
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from storage.workspace import Workspace
from tui.cli import EXIT_FAILURE, EXIT_OK, out


def init(args: argparse.Namespace) -> int:
    existed = Workspace(args.workspace).exists
    ws = Workspace.create(args.workspace)
    out.print(f"{'workspace already there' if existed else 'created workspace'}: {ws.root}")
    if args.demo:
        return fill_demo(ws)
    return EXIT_OK


def demo(args: argparse.Namespace) -> int:
    """`--demo`: build the demo workspace if it is not there yet, then open it."""
    ws = Workspace(args.workspace)
    if not ws.exists or not any(ws.tasks_dir.glob("*/task.toml")):
        ws = Workspace.create(args.workspace)
        code = fill_demo(ws)
        if code != EXIT_OK:
            return code
    from tui.commands.data import status

    return status(args)


def fill_demo(ws: Workspace) -> int:
    from tui.jobs import build_demo

    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
    ) as bar:
        bars: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = bar.add_task(stage, total=total)
            bar.update(bars[stage], completed=done, total=total)

        result = build_demo(ws, progress)
    out.print(
        f"demo built in {time.perf_counter() - started:.0f} s: {result['tasks']} tasks, "
        f"{result['rollouts']} rollouts, {result['proposals']} proposals to label"
    )
    return EXIT_FAILURE if result["interrupted"] else EXIT_OK
