"""The data commands: import, mine, label --auto, export, status."""

from __future__ import annotations

import argparse
import json
import sys

from rich.markup import escape
from rich.table import Table

from core.agent.confinement import isolation
from core.chat import Rendering
from core.granularity import Granularity
from storage import service
from storage.ingest import FileResult, ImportReport, import_files
from storage.workspace import Workspace
from tui.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, BadInput, emit, err, out


def import_(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    with ws.store() as store:
        report = import_files(store, args.files, ws.config(), fmt=args.format, on_file=_print_file)
    return _import_summary(report)


def _print_file(result: FileResult) -> None:
    if result.error:
        err.print(f"[red]not imported[/] {escape(result.error)}", soft_wrap=True)
    elif result.already_imported:
        out.print(f"{escape(result.path)}: already imported, nothing added")
    else:
        dup = f", {result.duplicates} already present" if result.duplicates else ""
        out.print(f"{escape(result.path)}: {result.imported} rollouts imported ({result.format}){dup}")
    for warning in result.warnings[:20]:
        err.print(f"[yellow]warning[/] {escape(warning)}", soft_wrap=True)
    if len(result.warnings) > 20:
        err.print(f"[yellow]warning[/] … and {len(result.warnings) - 20} more cut observations")


def _import_summary(report: ImportReport) -> int:
    if not report.failed:
        return EXIT_OK
    good = [escape(f.path) for f in report.files if not f.error]
    bad = [escape(f.path) for f in report.failed]
    err.print(
        f"{len(bad)} file(s) not imported (nothing of them was stored): {', '.join(bad)}"
        + (f"; imported: {', '.join(good)}" if good else ""),
        soft_wrap=True,
    )
    return EXIT_BAD_INPUT


def mine(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    with ws.store() as store:
        result = service.mine_proposals(store, ws.config())
        pending = len(store.pairs(pending_only=True))
    out.print(
        f"{result.proposals} proposals mined ({result.added} new, {result.dropped} stale undecided dropped); "
        f"{pending} pending"
    )
    return EXIT_OK


def label(args: argparse.Namespace) -> int:
    """`--auto`: the checks' side of every pending proposal, as automatic decisions (no
    annotator). Without it, on a terminal: the labelling screen as `--annotator`."""
    annotator = getattr(args, "annotator", None)
    if not args.auto:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise BadInput(
                "label needs --auto here (no terminal); label by hand in the TUI"
                " (`agentpref-tui -w WS [--annotator NAME]`)"
            )
        Workspace.open(args.workspace)  # a clear error for a missing workspace, before Textual starts
        from tui.app import run_app

        return run_app(args.workspace, annotator=annotator)
    if annotator is not None:
        raise BadInput("--auto records the checks' decisions, which are nobody's: leave out --annotator")
    ws = Workspace.open(args.workspace)
    with ws.store() as store:
        accepted = service.auto_label(store, args.min_gap)
    out.print(f"{accepted} proposals accepted as automatic preferences")
    return EXIT_OK


def export(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    if args.out.is_dir():
        raise BadInput(f"{args.out} is a folder: give a file name such as {args.out / 'prefs.jsonl'}")
    config = ws.config()
    with ws.store() as store:
        result = service.export_dataset(
            store,
            args.out,
            Granularity(args.granularity),
            Rendering.of(config.policy),  # observations as the policy sees them
            args.human_only,
            policy=config.train.label_policy,  # of several annotators' decisions, the one training takes
        )
    for reason in result.skipped:
        err.print(f"[yellow]skipped[/] {escape(reason)}", soft_wrap=True)
    out.print(f"{result.rows} rows written to {escape(str(args.out))} ({args.granularity} granularity)")
    if result.rows == 0:
        err.print("no decided pairs to export: mine, then label (in the TUI or with `label --auto`)")
        return EXIT_FAILURE
    return EXIT_OK


def status(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    with ws.store() as store:
        doc = service.status(store)
    doc["sandbox"] = isolation()  # bwrap, namespaces or rlimits: how test runs are confined
    if getattr(args, "json", False):
        emit(json.dumps(doc, indent=2, sort_keys=True))
        return EXIT_OK
    out.print(
        f"[bold]{escape(str(ws.root))}[/]: {doc['tasks']} tasks, {doc['rollouts']} rollouts, "
        f"{doc['proposals_pending']} of {doc['proposals']} proposals pending"
    )
    prefs = doc["preferences"]
    out.print(f"preferences: {prefs['human']} human, {prefs['auto']} auto")
    table = Table("flag", "rollouts with it", box=None, pad_edge=False)
    for check, rate in sorted(doc["flag_rates"].items(), key=lambda kv: -kv[1]):
        table.add_row(escape(check), f"{rate:6.1%}")
    out.print(table)
    for run in doc["runs"]:
        accuracy = run["final_metrics"].get("eval_rewards/accuracies")
        shown = f", validation accuracy {accuracy:.2f}" if accuracy is not None else ""
        out.print(
            escape(
                f"run {run['id']}: {run['status']}{shown}"
                + (f", adapter {run['adapter_path']}" if run["adapter_path"] else "")
            )
        )
    if doc["evals"]:
        shown_evals = ", ".join(f"{e['id']} ({e['run_id']})" for e in doc["evals"])
        out.print(f"evaluations: {escape(shown_evals)}")
    return EXIT_OK
