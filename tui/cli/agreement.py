"""`agreement`: how far the annotators agree with each other and with each check.

Plain output: Cohen's kappa per annotator pair, Krippendorff's alpha over everyone, the checks
least trusted first (how often people took the side a check prefers, where its flag tells the
two sides apart), and how many pairs wait for adjudication. `--json` prints the report as it is
(`storage.agreement.agreement_report`; keys in the README).
"""

from __future__ import annotations

import argparse
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from core.agreement.report import AgreementReport, shown, shown_interval
from storage.agreement import agreement_report
from storage.workspace import Workspace
from tui.cli.common import EXIT_OK, emit, out

_LOOK: dict[str, Any] = {"box": box.SIMPLE_HEAD, "pad_edge": False, "title_justify": "left"}


def agreement(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    with ws.store() as store:
        report = agreement_report(store)
    if getattr(args, "json", False):
        emit(report.model_dump_json(indent=2))
        return EXIT_OK
    print_report(report, str(ws.root))
    return EXIT_OK


def print_report(report: AgreementReport, where: str) -> None:
    level = f"{report.confidence:.0%}"
    people = ", ".join(f"{name or '(unnamed)'} {count}" for name, count in report.annotators.items())
    out.print(f"[bold]{escape(where)}[/]: decisions by annotator: {escape(people) or 'none yet'}")
    if report.pairwise:
        table = Table(
            "annotators",
            "shared",
            "agreed",
            "kappa",
            f"{level} interval",
            title="Cohen's kappa per pair of annotators",
            **_LOOK,
        )
        for pair in report.pairwise:
            table.add_row(
                escape(" / ".join(pair.annotators)),
                str(pair.shared),
                str(pair.agreed),
                shown(pair.kappa),
                shown_interval(pair.interval),
            )
        out.print(table)
    else:
        out.print("no pair decided by two named annotators yet: set [label] overlap = 2 to measure agreement")
    overall = report.overall
    out.print(
        f"Krippendorff's alpha (nominal), {len(overall.annotators)} annotators over {overall.items}"
        f" pairs: {shown(overall.alpha)} {level} interval {shown_interval(overall.interval)}"
    )
    if report.checks:
        table = Table(
            "check",
            "decided",
            "agreed",
            "precision",
            f"{level} interval",
            "ties",
            title="How far people trust each check (least trusted first)",
            **_LOOK,
        )
        for check in report.checks:
            table.add_row(
                escape(check.check),
                str(check.decided),
                str(check.agreed),
                shown(check.precision),
                shown_interval(check.interval),
                str(check.ties),
            )
        out.print(table)
    conflicts = len(report.conflicts)
    hint = ": adjudicate them on the TUI's agreement screen (a)" if conflicts else ""
    out.print(f"{conflicts} conflicting pair(s) waiting for adjudication{hint}")
