"""The `agentpref-tui` argument parser: every command, option and help text."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from core.formats import FORMAT_NAMES
from core.granularity import Granularity

DEFAULT_WORKSPACE = os.environ.get("AGENTPREF_WORKSPACE", ".")


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


def _annotator_option(parser: argparse.ArgumentParser, top: bool) -> None:
    # As -w: before or after `label`, the subparser's copy must not reset the value given before.
    parser.add_argument(
        "--annotator",
        metavar="NAME",
        default=None if top else argparse.SUPPRESS,
        help="who is labelling (default: $AGENTPREF_ANNOTATOR, else the login name)",
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text}")
    return value


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("training (--train)")
    group.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a [train] setting for this run, e.g. --set learning_rate=1e-4 (repeatable)",
    )
    group.add_argument(
        "--resume", metavar="RUN_ID", help="continue a cancelled or lost run from its checkpoint"
    )
    group.add_argument("--run-id", metavar="NAME", help="name the run (required under accelerate launch)")
    group.add_argument("--human-only", action="store_true", help="train on human-confirmed pairs only")
    group.add_argument("--cancel", metavar="RUN_ID", help="ask a running run to stop (it saves a checkpoint)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentpref-tui",
        description="Preference-tune coding agents on their behaviour.",
        epilog="Exit codes: 0 success, 2 bad input or usage, 1 a failure at run time.",
    )
    _workspace_option(parser, top=True)
    parser.add_argument("--demo", action="store_true", help="build the offline demo workspace if missing")
    _annotator_option(parser, top=True)
    parser.add_argument(
        "--train",
        action="store_true",
        help="run DPO training on the decided pairs, headless (see `train -h`)",
    )
    add_train_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _workspace_option(p, top=False)
        return p

    p = command("init", "create a workspace (database, config, folders)")
    p.add_argument("--demo", action="store_true", help="fill it with the offline demo")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="with --demo: build seed (model, rollouts), recorded as [rollout] seed",
    )

    p = command("import", "import rollout files from agentpref or other harnesses")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--format", default="auto", choices=("auto", *FORMAT_NAMES))

    command("mine", "propose (chosen, rejected) pairs among rollouts of the same task")

    p = command("label", "decide proposals: --auto accepts them all; else the labelling screen opens")
    p.add_argument("--auto", action="store_true", help="accept every pending proposal as it was mined")
    p.add_argument("--min-gap", type=float, default=None, help="only proposals with at least this score gap")
    _annotator_option(p, top=False)

    p = command("export", "write the decided pairs as a TRL preference dataset (JSONL)")
    p.add_argument("out", type=Path, metavar="OUT")
    p.add_argument("--granularity", default="step", choices=[g.value for g in Granularity])
    p.add_argument("--human-only", action="store_true", help="leave out automatic preferences")

    p = command("train", "run DPO training on the decided pairs (the same as --train)")
    add_train_arguments(p)

    p = command("eval", "roll out base and base + a run's adapter on held-out tasks; compare failure modes")
    p.add_argument("--run", metavar="RUN_ID", help="the training run (default: the latest finished)")
    p.add_argument("--n", type=_positive, default=None, help="rollouts per task and side (default: [eval] n)")
    p.add_argument(
        "--tasks", default=None, metavar="SPEC", help="heldout (default), train, all, or ID,ID,..."
    )
    p.add_argument("--seed", type=int, default=None, help="base seed, the same for both sides")
    p.add_argument("--eval-id", metavar="NAME", help="name the evaluation")
    p.add_argument("--show", metavar="EVAL_ID", help="print a finished evaluation's result; run nothing")
    p.add_argument(
        "--fresh", action="store_true", help="roll the base side out again, even where an eval can be reused"
    )
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="the stable JSON document (see README)")
    shown.add_argument("--markdown", action="store_true", help="a Markdown report for pasting")

    p = command("doctor", "check the workspace database in full; recover what is readable into a new file")
    p.add_argument(
        "--recover", type=Path, metavar="NEW_DB", help="copy every readable row into this new file"
    )
    p.add_argument("--json", action="store_true", help="the report as JSON")

    p = command("status", "counts of tasks, rollouts, flags, proposals, preferences, runs")
    p.add_argument("--json", action="store_true", help="the stable JSON document (see README)")

    p = command("agreement", "how far annotators agree with each other and with each check; conflicts")
    p.add_argument("--json", action="store_true", help="the report as JSON (keys in the README)")

    tasks = command("tasks", "add, import, check and list the tasks rollouts run on")
    tasks_sub = tasks.add_subparsers(dest="tasks_command", metavar="ACTION", required=True)

    def task_action(name: str, help_text: str) -> argparse.ArgumentParser:
        p = tasks_sub.add_parser(name, help=help_text, description=help_text)
        _workspace_option(p, top=False)
        return p

    p = task_action("add", "add a task folder (task.toml + repo/, a git repository)")
    p.add_argument("path", type=Path, metavar="PATH")
    p.add_argument("--replace", action="store_true", help="replace a task with the same id")
    p = task_action("import-quixbugs", "one task per program of a local QuixBugs checkout")
    p.add_argument("path", type=Path, metavar="PATH")
    p.add_argument(
        "--heldout-every", type=_positive, default=4, metavar="K", help="hold out every K-th program"
    )
    p.add_argument("--replace", action="store_true", help="replace tasks already imported")
    p = task_action("check", "tests fail on the untouched repository and pass with the reference fix")
    p.add_argument("--tasks", default="all", metavar="SPEC", help="train, heldout, all, or ID,ID,...")
    p.add_argument("--json", action="store_true")
    p = task_action("list", "the workspace's tasks")
    p.add_argument("--json", action="store_true")

    p = command("rollout", "roll the configured policy out on tasks; rollouts are checked and stored")
    p.add_argument(
        "--tasks", default="train", metavar="SPEC", help="train (default), heldout, all, or ID,ID,..."
    )
    p.add_argument("--n", type=_positive, default=None, help="rollouts per task (default: [rollout] n)")
    p.add_argument("--seed", type=int, default=None, help="base seed (default: [rollout] seed)")

    p = command(
        "branch",
        "replay a rollout's prefix, try other actions at a flagged step, continue each to the end",
    )
    p.add_argument(
        "--rollout", metavar="ID", help="the rollout to branch (default: the train rollouts' flags)"
    )
    p.add_argument(
        "--step",
        type=_positive,
        default=None,
        metavar="K",
        help="with --rollout: the step (1-based) to branch at",
    )
    p.add_argument(
        "--n", type=_positive, default=None, help="alternatives a branch point (default: [branch] n)"
    )
    p.add_argument(
        "--tasks",
        default="train",
        metavar="SPEC",
        help="without --rollout: train (default), heldout, all, or ID,ID,...",
    )
    return parser
