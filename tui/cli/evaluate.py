"""`eval`: roll out the base model and base + a run's adapter on held-out tasks, then compare.

Both sides run the same tasks with the same seeds (common random numbers), through the same
policy and harness, so a difference comes from the adapter and not from the draw. Rollouts
are stored tagged with the evaluation. The base side does not depend on the adapter: when an
earlier finished evaluation rolled out the same base side (`storage.evals.base_key`), its
rollouts are reused and only the tuned side runs (`--fresh` reruns both). The TUI starts this
command detached (`--eval-id` names the queued row it made); SIGTERM or Ctrl-C stops it and
keeps what finished.

Progress goes to stderr, whatever `--json` or `--markdown` put on stdout: a bar on a terminal,
plain lines (`eval: base 12/64 rollouts`) on a file or a pipe, as `--train` logs its steps.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.agent.model import ModelError
from core.config import PolicyConfig
from core.evaluate.compare import adjusted_p, markdown
from core.evaluate.result import EvalResult
from core.schema import EvalConfig, Task, TrainRun
from storage import evals, runs, service
from storage.jobs import CANCELLED, FAILED, FINISHED, QUEUED, StopOnSignal
from storage.store import Store
from storage.workspace import Workspace
from tui.cli.common import EXIT_FAILURE, EXIT_OK, BadInput, emit, err, out, progress_bar, warn_if_unconfined

PLAIN_EVERY_FRACTION = 0.1  # piped progress: a line each tenth of a side...
PLAIN_EVERY_S = 10.0  # ...or sooner, when this long passed since the last line and one more finished


class PlainProgress:
    """Progress as plain lines, where a bar would draw nothing (stderr a file or a pipe, the log
    of an evaluation the TUI started): each side's start and end, and in between a line each
    tenth of the way or every 10 s, whichever comes first, so a log neither floods nor falls
    silent for minutes."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self.console, self.clock = console, clock
        self._side: str | None = None
        self._done = -1
        self._at = -math.inf

    def __call__(self, side: str, done: int, total: int) -> None:
        now = self.clock()
        step = max(1, math.ceil(total * PLAIN_EVERY_FRACTION))
        if side == self._side and (
            done == self._done
            or (done < total and done // step == self._done // step and now - self._at < PLAIN_EVERY_S)
        ):
            return
        self._side, self._done, self._at = side, done, now
        self.console.print(f"eval: {side} {done}/{total} rollouts", markup=False, soft_wrap=True)


def evaluate(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    config = ws.config()
    with ws.store() as store:
        if args.show:
            return _print(store, args.show, args, config.eval.alpha)
        try:
            return _evaluate(ws, store, args)
        except BadInput as exc:  # the row the TUI made must say why nothing ran
            queued = evals.get_eval(store, args.eval_id) if args.eval_id else None
            if queued is not None and queued.status == QUEUED:
                evals.end_eval(store, args.eval_id, FAILED, error=str(exc))
            raise


def _evaluate(ws: Workspace, store: Store, args: argparse.Namespace) -> int:
    config = ws.config()
    run = _pick_run(ws, store, args.run)
    try:
        tasks = service.select_tasks(store, args.tasks or config.eval.tasks)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    if not tasks:
        raise BadInput(
            f"no runnable tasks match {args.tasks or config.eval.tasks!r} "
            "(held-out tasks have split = heldout in their task.toml)"
        )
    n = args.n or config.eval.n
    seed = config.eval.seed if args.seed is None else args.seed
    base_model = ws.from_stored(run.config.base_model or config.policy.model)
    # The base side is the run's base model with no adapter at all ([policy] adapter ignored);
    # a served model (openai) keeps its served name, and the run's adapter is asked for by run id.
    model = config.policy.model if config.policy.kind == "openai" else str(base_model)
    policy = config.policy.model_copy(update={"model": model, "adapter": ""})
    from tui.rollout_jobs import task_repo

    key = evals.base_key(policy, base_model, [(t, task_repo(ws, t)) for t in tasks], n, seed, config)
    reused = None if args.fresh or key is None else evals.reusable_before(store, key, n * len(tasks))
    eval_config = EvalConfig(
        tasks=[t.id for t in tasks],
        n=n,
        seed=seed,
        base_model=ws.to_stored(base_model),
        adapter=run.adapter_path,
        base_key=key,
    )
    if reused:  # the base side's rollouts are those of an earlier evaluation
        eval_config.before_from, eval_config.before_policy = reused
    eval_id = _adopt_or_create(store, args.eval_id, run.id, eval_config)
    warn_if_unconfined(err)
    status, error = _roll_out(ws, store, eval_id, run, tasks, n, seed, policy, eval_config.before_from)
    if status != FINISHED:
        evals.end_eval(store, eval_id, status, error=error)
        err.print(f"[red]evaluation {eval_id} {status}[/]: {escape(error or '')}", soft_wrap=True)
        return EXIT_FAILURE
    result = evals.comparison(store, eval_id, config.eval.alpha, config.checks.disabled)
    errors, n = result.policy_errors, result.n
    broken = [
        side
        for side, count, failed in (("before", n.before, errors.before), ("after", n.after, errors.after))
        if count and failed == count
    ]
    if broken:
        message = (
            f"every rollout of the {' and '.join(broken)} side ended in a policy error (the model could "
            f"not be reached or loaded), so there is nothing to compare; open the rollouts of {eval_id}"
        )
        evals.end_eval(store, eval_id, FAILED, error=message, result=result)
        err.print(f"[red]evaluation {eval_id} failed[/]: {escape(message)}", soft_wrap=True)
        return EXIT_FAILURE
    evals.end_eval(store, eval_id, FINISHED, result=result, stage="done")
    return _print(store, eval_id, args, config.eval.alpha)


def _pick_run(ws: Workspace, store: Store, run_id: str | None) -> TrainRun:
    if run_id:
        run = runs.get_run(store, run_id)
        if run is None:
            raise BadInput(
                f"no run {run_id} (runs: {', '.join(r.id for r in runs.list_runs(store)) or 'none'})"
            )
        if run.status != FINISHED:
            raise BadInput(
                f"run {run_id} is {run.shown_status}: only a finished run has an adapter to evaluate"
            )
    else:
        run = runs.latest_finished(store)
        if run is None:
            raise BadInput(
                "no finished training run to evaluate: train one first with `agentpref-tui --train`"
            )
    if not run.adapter_path or not (ws.from_stored(run.adapter_path) / "adapter_config.json").is_file():
        raise BadInput(f"run {run.id}'s adapter is missing at {run.adapter_path}")
    return run


def _adopt_or_create(store: Store, eval_id: str | None, run_id: str, config: EvalConfig) -> str:
    if eval_id:
        row = evals.get_eval(store, eval_id)
        if row is not None and row.status != QUEUED:
            raise BadInput(f"an evaluation named {eval_id} already exists")
        if row is not None:
            evals.update_eval(store, eval_id, run_id=run_id, config=config)
            return eval_id
    try:
        return evals.create_eval(store, run_id, config, eval_id)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc


def _roll_out(
    ws: Workspace,
    store: Store,
    eval_id: str,
    run: TrainRun,
    tasks: list[Task],
    n: int,
    seed: int,
    policy: PolicyConfig,
    before_from: str | None,
) -> tuple[str, str | None]:
    """Both sides, one after the other (only the tuned one when the base side is reused);
    returns (status, error). Progress on stderr: a bar on a terminal, plain lines elsewhere."""
    from tui.rollout_jobs import run_rollout_job

    sides: list[tuple[str, Path | None]] = [
        ("before", None),
        ("after", ws.from_stored(run.adapter_path or "")),
    ]
    if before_from:
        sides = sides[1:]
        err.print(f"base side reused from {escape(before_from)} (--fresh rolls it out again)", soft_wrap=True)
    total = len(sides) * n * len(tasks)
    lines = None if err.is_terminal else PlainProgress(err)
    try:
        with (
            StopOnSignal() as stop,
            evals.EVALS.running_here(store, eval_id),
            progress_bar(err, width=24, terminal_only=True) as bar,
        ):
            evals.update_eval(store, eval_id, done=0, total=total)
            handle = bar.add_task(sides[0][0], total=total)
            offset = 0
            for side, adapter in sides:
                evals.update_eval(store, eval_id, stage=side)
                shown = f"base + {run.id}" if adapter else "base"
                bar.update(handle, description=f"{side} ({escape(shown)})")

                def progress(
                    stage: str, done: int, side_total: int, offset: int = offset, shown: str = shown
                ) -> None:
                    bar.update(handle, completed=offset + done)
                    if lines is not None:
                        lines(shown, done, side_total)
                    evals.update_eval(store, eval_id, done=offset + done)

                summary = run_rollout_job(
                    ws, tasks, n, seed, progress, stop, adapter=adapter, eval_id=eval_id, policy_config=policy
                )
                row = evals.get_eval(store, eval_id)
                config = row.config if row else EvalConfig()
                evals.update_eval(
                    store, eval_id, config=config.model_copy(update={f"{side}_policy": summary.policy})
                )
                if summary.interrupted or stop.is_set():
                    return (
                        CANCELLED,
                        f"stopped during the {side} side ({summary.finished} of {summary.total} done)",
                    )
                offset += summary.total
    except ModelError as exc:
        return FAILED, str(exc)
    except Exception:
        return FAILED, traceback.format_exc()
    return FINISHED, None


def _print(store: Store, eval_id: str, args: argparse.Namespace, alpha: float) -> int:
    row = evals.get_eval(store, eval_id)
    if row is None:
        raise BadInput(f"no evaluation {eval_id}")
    if row.status != FINISHED:
        raise BadInput(f"evaluation {eval_id} is {row.shown_status}; it has no result")
    result = row.result or evals.comparison(store, eval_id, alpha)
    if args.json:
        emit(json.dumps(result.as_json(), indent=2))
    elif args.markdown:
        emit(markdown(result, title=f"Evaluation {eval_id}: base vs base + {result.run_id}"))
    else:
        out.print(summary_table(result))
        for line in result.warnings:
            out.print(f"• {escape(line)}", soft_wrap=True)
    return EXIT_OK


def summary_table(result: EvalResult) -> Table:
    n = result.n
    pairs = f", {result.n_pairs} pairs" if result.n_pairs is not None else ""
    table = Table(
        title=f"{escape(result.eval_id)}: base vs base + {escape(str(result.run_id))} on "
        f"{len(result.tasks)} tasks "
        f"({n.before} / {n.after} rollouts{pairs})",
        title_justify="left",
        caption="Holm p: McNemar's exact test on (task, seed) pairs, Holm-adjusted over the modes; "
        "any flag and the pass rates are single tests",
        caption_justify="left",
    )
    for column in ("mode", "before", "after", "diff", "95% CI", "Holm p", "verdict"):
        table.add_column(column, justify="left" if column in ("mode", "verdict") else "right")
    colours = {"better": "green", "worse": "red", "unchanged": "dim"}
    entries = [*result.modes.items(), ("any flag", result.overall), ("tests pass", result.pass_rate)]
    if result.pass_rate_own_tests is not None:
        entries.append(("own tests pass", result.pass_rate_own_tests))
    for name, entry in entries:
        lo, hi = entry.ci_diff
        table.add_row(
            escape(name),
            f"{entry.before:.1%}",
            f"{entry.after:.1%}",
            f"{entry.diff * 100:+.1f} pp",
            f"[{lo * 100:+.0f}, {hi * 100:+.0f}]",
            f"{adjusted_p(entry):.2g}",
            f"[{colours[entry.verdict]}]{entry.verdict}[/]",
        )
    return table
