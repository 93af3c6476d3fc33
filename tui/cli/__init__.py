"""The `agentpref-tui` command line: the headless steps of the loop.

`main` parses the arguments (`parser`), hands them to the command's module (`workspace`, `data`,
`tasks`, `rollout`, `train`, `evaluate`, `doctor`, `agreement`) and turns errors into exit codes. What the
commands share (exit codes, `BadInput`, the consoles, the progress bar) is in `common`, which
imports none of them.

Exit codes are a contract: 0 success, 2 bad input or usage, 1 a failure at run time.
Only the interactive app imports Textual, and only training and the model policies import
torch, so `--help` and the headless steps start fast; `--help` loads neither the schema nor the
database layer either (`main` imports them once the arguments are read).
"""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape

from tui.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, BadInput, err
from tui.cli.parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Once the arguments are read: `--help` and a usage error load neither the schema nor the
    # database layer (pydantic and sqlite-utils are most of a start).
    from core.config import ConfigError
    from storage.health import DatabaseDamaged
    from storage.migrations import SchemaError
    from storage.store import ReadOnlyWorkspace
    from storage.workspace import WorkspaceError

    try:
        return dispatch(args)
    except (BadInput, WorkspaceError, ConfigError, SchemaError, ReadOnlyWorkspace) as exc:
        return _error(exc, EXIT_BAD_INPUT)
    except DatabaseDamaged as exc:
        return _error(exc, EXIT_FAILURE)
    except sqlite3.OperationalError as exc:  # contention or access, never damage
        db = _db_path(args)
        if "locked" in str(exc) or "busy" in str(exc):
            why = "another process held its write lock past the busy timeout (30 s): run the command again"
            return _error(f"{db}: {why}", EXIT_FAILURE)
        if "readonly" in str(exc):
            return _error(f"{db} cannot be written ({exc})", EXIT_BAD_INPUT)
        return _error(f"{db}: {exc}", EXIT_FAILURE)
    except sqlite3.DatabaseError as exc:  # damage found past the open-time check
        return _error(DatabaseDamaged(_db_path(args), str(exc)), EXIT_FAILURE)
    except KeyboardInterrupt:
        err.print("interrupted")
        return EXIT_FAILURE


def _db_path(args: argparse.Namespace) -> Path:
    from storage.workspace import DB_NAME

    return Path(getattr(args, "workspace", ".")) / DB_NAME


def _error(exc: object, code: int) -> int:
    err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)
    return code


def dispatch(args: argparse.Namespace) -> int:
    from tui.cli import agreement, data, doctor, evaluate, rollout, tasks, train, workspace

    handlers = {
        "init": workspace.init,
        "import": data.import_,
        "mine": data.mine,
        "label": data.label,
        "export": data.export,
        "status": data.status,
        "agreement": agreement.agreement,
        "doctor": doctor.doctor,
        "rollout": rollout.rollout,
        "branch": rollout.branch,
        "train": train.train,
        "eval": evaluate.evaluate,
        "tasks add": tasks.add,
        "tasks import-quixbugs": tasks.quixbugs,
        "tasks check": tasks.check,
        "tasks list": tasks.list_,
    }
    annotator = getattr(args, "annotator", None)
    if annotator is not None and args.command not in (None, "label"):
        raise BadInput("--annotator names who labels: it applies to the TUI and `label`")
    if args.command is None:
        if annotator is not None and (args.train or args.cancel or args.resume):
            raise BadInput("--annotator names who labels: it applies to the TUI, not to a training run")
        if args.train or args.cancel or args.resume:
            return train.train(args)
        if args.overrides or args.human_only or args.run_id:
            raise BadInput("--set, --human-only and --run-id apply to a training run: add --train")
        if args.demo:
            return workspace.demo(args)
        return workspace.open_app(args)
    key = f"tasks {args.tasks_command}" if args.command == "tasks" else args.command
    return handlers[key](args)
