"""The `agentpref-tui` command line: the headless steps of the loop.

Exit codes are a contract: 0 success, 2 bad input or usage, 1 a failure at run time.
Only the interactive app imports Textual, and only training and the model policies import
torch, so `--help` and the headless steps start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from core.config import ConfigError
from core.export import Granularity
from core.formats import FORMAT_NAMES
from storage.migrations import SchemaError
from storage.workspace import WorkspaceError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_WORKSPACE = os.environ.get("AGENTPREF_WORKSPACE", ".")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class BadInput(Exception):
    """Raised by a command for input it cannot use; the CLI prints it and exits 2."""


def _workspace_option(parser: argparse.ArgumentParser, top: bool) -> None:
    # Accepted before or after the subcommand: the subparser's copy must not reset the
    # value given before it, hence SUPPRESS there.
    parser.add_argument(
        "-w",
        "--workspace",
        metavar="WS",
        type=Path,
        default=Path(DEFAULT_WORKSPACE) if top else argparse.SUPPRESS,
        help="workspace folder (default: $AGENTPREF_WORKSPACE or the current folder)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentpref-tui",
        description="Preference-tune coding agents on their behaviour.",
        epilog="Exit codes: 0 success, 2 bad input or usage, 1 a failure at run time.",
    )
    _workspace_option(parser, top=True)
    parser.add_argument("--demo", action="store_true", help="build the offline demo workspace if missing")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _workspace_option(p, top=False)
        return p

    p = command("init", "create a workspace (database, config, folders)")
    p.add_argument("--demo", action="store_true", help="fill it with the offline demo")

    p = command("import", "import rollout files from agentpref or other harnesses")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--format", default="auto", choices=("auto", *FORMAT_NAMES))

    command("mine", "propose (chosen, rejected) pairs among rollouts of the same task")

    p = command("label", "decide proposals without the TUI")
    p.add_argument("--auto", action="store_true", help="accept every pending proposal as it was mined")
    p.add_argument("--min-gap", type=float, default=None, help="only proposals with at least this score gap")

    p = command("export", "write the decided pairs as a TRL preference dataset (JSONL)")
    p.add_argument("out", type=Path, metavar="OUT")
    p.add_argument("--granularity", default="step", choices=[g.value for g in Granularity])
    p.add_argument("--human-only", action="store_true", help="leave out automatic preferences")

    p = command("status", "counts of tasks, rollouts, flags, proposals, preferences, runs")
    p.add_argument("--json", action="store_true", help="the stable JSON document (see README)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return dispatch(args)
    except (BadInput, WorkspaceError, ConfigError, SchemaError) as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        err.print("interrupted")
        return EXIT_FAILURE


def dispatch(args: argparse.Namespace) -> int:
    from tui import commands

    handlers = {
        "init": commands.init,
        "import": commands.import_,
        "mine": commands.mine,
        "label": commands.label,
        "export": commands.export,
        "status": commands.status,
    }
    if args.command is None:
        if args.demo:
            return commands.demo(args)
        return commands.status(args)
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
