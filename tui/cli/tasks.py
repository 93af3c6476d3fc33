"""`tasks add`, `tasks import-quixbugs`, `tasks check`, `tasks list`."""

from __future__ import annotations

import argparse
import json

from rich.markup import escape
from rich.table import Table

from core.tasks import TaskError, add_task, import_quixbugs
from storage import service
from storage.workspace import Workspace
from tui.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, BadInput, emit, err, out


def add(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    try:
        task = add_task(args.path, ws.tasks_dir, replace=args.replace)
    except TaskError as exc:
        raise BadInput(str(exc)) from exc
    with ws.store() as store:
        service.register_tasks(store, [task])
    out.print(
        f"added task {escape(task.id)} ({escape(task.split)}), {len(task.candidates)} candidate patches"
    )
    return EXIT_OK


def quixbugs(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    try:
        result = import_quixbugs(
            args.path, ws.tasks_dir, split_every=args.heldout_every, replace=args.replace
        )
    except TaskError as exc:
        raise BadInput(str(exc)) from exc
    with ws.store() as store:
        service.register_tasks(store, result.tasks)
    for reason in result.skipped:
        err.print(f"[yellow]skipped[/] {escape(reason)}")
    heldout = sum(t.split == "heldout" for t in result.tasks)
    out.print(f"imported {len(result.tasks)} QuixBugs tasks ({heldout} held out)")
    return EXIT_OK if result.tasks else EXIT_BAD_INPUT


def check(args: argparse.Namespace) -> int:
    from core.agent.validate import check_task
    from tui.rollout_jobs import task_reference, task_repo

    ws = Workspace.open(args.workspace)
    with ws.store() as store:
        try:
            tasks = service.select_tasks(store, args.tasks)
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
    results = []
    for task in tasks:
        try:
            repo, reference = task_repo(ws, task), task_reference(ws, task)
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
        result = check_task(task, repo, reference)
        results.append(result)
        if not args.json:
            mark = "[green]ok[/]  " if result.ok else "[red]BAD[/] "
            line = f"{task.id}: untouched {result.untouched}, reference {result.reference}"
            line += f" — {result.detail}" if result.detail else ""
            out.print(mark + " " + escape(line), soft_wrap=True)
    if args.json:
        emit(json.dumps([r.as_json() for r in results], indent=2))
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILURE


def list_(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    with ws.store() as store:
        tasks = store.tasks()
    if args.json:
        emit(json.dumps([t.model_dump(mode="json", exclude={"candidates"}) for t in tasks], indent=2))
        return EXIT_OK
    table = Table("task", "split", "repo", "candidates", box=None)
    for task in tasks:
        table.add_row(
            escape(task.id),
            escape(task.split),
            "yes" if task.repo_path else "no (imported)",
            str(len(task.candidates)),
        )
    out.print(table)
    return EXIT_OK
