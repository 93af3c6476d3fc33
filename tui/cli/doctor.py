"""`doctor`: check the workspace database in full, and recover what is readable of a damaged one.

Every other command refuses a damaged database when it opens it; this one exists for that
case, so it reads the file read-only and writes any recovery to a new file the user names.
"""

from __future__ import annotations

import argparse
import json

from rich.markup import escape

from storage.health import integrity_check, recover
from storage.workspace import DB_NAME
from tui.cli.common import EXIT_FAILURE, EXIT_OK, BadInput, emit, out


def doctor(args: argparse.Namespace) -> int:
    db = args.workspace / DB_NAME
    if not db.is_file():
        raise BadInput(f"no workspace database at {db}")
    problems = integrity_check(db)
    ok = problems == ["ok"]
    report: dict = {"path": str(db), "ok": ok, "problems": [] if ok else problems}
    if args.recover is not None:
        try:
            recovery = recover(db, args.recover)
        except FileExistsError as exc:
            raise BadInput(str(exc)) from exc
        report["recovered"] = {"path": str(args.recover), "rows": recovery.copied, "lost": recovery.lost}
    if args.json:
        emit(json.dumps(report, indent=2))
        return EXIT_OK if ok else EXIT_FAILURE
    verdict = "[green]ok[/]" if ok else "[red]damaged[/]"
    out.print(f"{escape(str(db))}: {verdict} (SQLite integrity_check)")
    for problem in report["problems"]:
        out.print(f"  {escape(problem)}", soft_wrap=True)
    if "recovered" in report:
        rows = report["recovered"]["rows"]
        out.print(f"recovered into {escape(str(args.recover))}: {sum(rows.values())} rows")
        for table, count in rows.items():
            out.print(f"  {escape(table)}: {count}")
        for lost in report["recovered"]["lost"]:
            out.print(f"  [yellow]lost[/] {escape(lost)}", soft_wrap=True)
        out.print(
            f"the original is untouched; to use the copy: mv {escape(str(args.recover))} {escape(str(db))}"
        )
    elif not ok:
        where = escape(str(args.workspace))
        out.print(f"recover what is readable: agentpref-tui doctor -w {where} --recover NEW.db")
    return EXIT_OK if ok else EXIT_FAILURE
