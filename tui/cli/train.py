"""`--train` (and `train`): one DPO run in this process, recorded in the workspace database.

The TUI starts this same command detached (`--run-id` names the queued row it made), so a
run started from the screen and one started by hand behave the same. SIGTERM or Ctrl-C
stops at the next step, saves a checkpoint and marks the run cancelled; `--resume RUN_ID`
continues it. Under `accelerate launch` every process runs this command; only the main
one writes to the database.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from rich.markup import escape

from core.config import Config, TrainConfig, apply_overrides
from core.train.run import RunOutcome, RunSpec, TrainError, last_checkpoint
from storage import runs, training
from storage.jobs import (
    CANCELLED,
    FAILED,
    FINISHED,
    QUEUED,
    RUNNING,
    Heartbeat,
    job_process_alive,
    shown_status,
)
from storage.store import Store
from storage.workspace import Workspace
from tui.cli.common import EXIT_FAILURE, EXIT_OK, BadInput, err, out, progress_bar

LOG_NAME = "train.log"


class RunLog:
    """The run's log file (followed by the TUI); also echoed when a person is watching."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.handle = path.open("a", encoding="utf-8", buffering=1)
        # Started detached, stdout already is this file: write each line once.
        self.echo = not _same_file(sys.stdout, path)

    def __call__(self, line: str, style: str = "", echo: bool = True) -> None:
        self.handle.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
        if self.echo and (echo or not out.is_terminal):
            out.print(f"[{style}]{escape(line)}[/]" if style else line, soft_wrap=True, markup=bool(style))

    def close(self) -> None:
        self.handle.close()


def _same_file(stream: Any, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(stream.fileno()), os.stat(path))
    except (OSError, ValueError, AttributeError):
        return False


def _rank() -> tuple[int, int]:
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def train(args: argparse.Namespace) -> int:
    ws = Workspace.open(args.workspace)
    if args.cancel:
        with ws.store() as store:
            try:
                out.print(runs.cancel_run(store, args.cancel))
            except ValueError as exc:  # no such run, or not running
                raise BadInput(str(exc)) from exc
        return EXIT_OK
    rank, world = _rank()
    if world > 1 and not (args.run_id or args.resume):
        raise BadInput("under accelerate launch every process must name the same run: add --run-id NAME")
    with ws.store() as store:
        if args.resume:
            run_id, config, base = _resume_settings(ws, store, args, check_status=rank == 0)
        else:
            config = apply_overrides(ws.config(), args.overrides)
            if args.human_only:
                config = config.model_copy(
                    update={"train": config.train.model_copy(update={"human_only": True})}
                )
            run_id, base = args.run_id, training.base_model_path(ws, config)
        if rank != 0:
            return _follow_main_process(ws, run_id or "", config, base, args.resume is not None)
        return _run(ws, store, run_id, config, resume=args.resume is not None)


def _resume_settings(
    ws: Workspace, store: Store, args: argparse.Namespace, check_status: bool = True
) -> tuple[str, Config, Path]:
    if args.overrides or args.human_only:
        raise BadInput("--resume keeps the run's own settings; start a new run to change them")
    row = runs.get_run(store, args.resume)
    if row is None:
        known = ", ".join(r["id"] for r in runs.list_runs(store)) or "none"
        raise BadInput(f"no run {args.resume} in {ws.root} (runs: {known})")
    status = shown_status(row)
    if status == FINISHED:
        raise BadInput(
            f"run {args.resume} has finished; nothing to resume (its adapter: {row['adapter_path']})"
        )
    # Shown lost or not, a run whose process lives is not resumed: two trainers on one run.
    # Under accelerate the main process may have started it (check_status is off there).
    if check_status and (status == RUNNING or job_process_alive(row)) and row["pid"] != os.getpid():
        raise BadInput(f"run {args.resume} is still running (pid {row['pid']}); stop it first")
    if not row["config"].get("train"):
        raise BadInput(f"run {args.resume} never started (no settings recorded); start a new run")
    config = Config(train=TrainConfig.model_validate(row["config"]["train"]))
    return args.resume, config, ws.from_stored(row["config"]["base_model"])


def _run(ws: Workspace, store: Store, run_id: str | None, config: Config, resume: bool) -> int:
    if run_id and not runs.RUN_ID.match(run_id):
        raise BadInput(f"--run-id {run_id!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    if resume or (run_id and (row := runs.get_run(store, run_id)) is not None and row["status"] == QUEUED):
        adopted = run_id  # the TUI's queued row, or the run being resumed
    elif run_id and runs.get_run(store, run_id) is not None:
        raise BadInput(f"a run named {run_id} already exists; pick another --run-id or --resume it")
    else:
        adopted = None
    try:
        plan = training.plan_run(ws, config, store) if not resume else None
        if resume:
            training.check_disk(ws.runs_dir, config.train.min_free_disk_mb)
            training.check_device(config.train.device)
    except (TrainError, ValueError) as exc:
        if adopted:  # the row the TUI made must say why nothing started
            runs.end_run(store, adopted, FAILED, error=str(exc))
        raise BadInput(str(exc)) from exc

    run_id = adopted or runs.create_run(store, {}, run_id)
    out_dir = ws.runs_dir / run_id
    log = RunLog(out_dir / LOG_NAME)
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        log("stop requested: saving a checkpoint at the end of this step", "yellow")

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    runs.start_run(store, run_id, os.getpid())
    try:
        # Beating from here: writing a large dataset must not look like a lost run.
        with Heartbeat(store.path, "runs", run_id):
            spec = _prepare(ws, store, run_id, out_dir, config, plan, log)
            if stop.is_set():
                raise KeyboardInterrupt("stopped before training started")
            outcome = _execute(store, spec, log, stop)
            return _finish(ws, store, spec, outcome, log)
    except BaseException as exc:  # the traceback stays in the log and on the run's row
        text = traceback.format_exc()
        log(text.rstrip(), echo=False)
        status = CANCELLED if isinstance(exc, KeyboardInterrupt) else FAILED
        runs.end_run(store, run_id, status, error=text)
        err.print(
            f"[bold red]run {run_id} {status}:[/] {escape(repr(exc))} (log: {log.path})", soft_wrap=True
        )
        return EXIT_FAILURE
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.close()


def _prepare(
    ws: Workspace, store: Store, run_id: str, out_dir: Path, config: Config, plan: Any, log: RunLog
) -> RunSpec:
    """Write a new run's data (or take a resumed run's), and say what it trains on."""
    if plan is not None:
        log(f"run {run_id}: base model {plan.base_model}; dataset {plan.counts}")
        for line in plan.skipped[:20]:
            log(f"skipped {line}")
        for line in training.write_dataset(plan, out_dir):
            log(f"warning: {line}", "yellow")
        runs.update_run(
            store,
            run_id,
            config={"train": config.train.model_dump(), "base_model": ws.to_stored(plan.base_model)},
            dataset=plan.counts,
            log_path=ws.to_stored(out_dir / LOG_NAME),
        )
        base, counts, resume = plan.base_model, plan.counts, False
    else:
        row = runs.get_run(store, run_id) or {}
        base, counts, resume = ws.from_stored(row["config"]["base_model"]), row["dataset"], True
        checkpoint = last_checkpoint(out_dir)
        step = int(checkpoint.name.split("-")[-1]) if checkpoint else 0
        runs.forget_metrics_after(store, run_id, step)  # steps after the checkpoint are trained again
        log(f"resuming run {run_id} from {checkpoint.name if checkpoint else 'the start (no checkpoint)'}")
    (out_dir / ".dataset-ready").touch()
    return RunSpec(run_id, out_dir, base, config.train, resume=resume, dataset_counts=counts)


def _execute(store: Store, spec: RunSpec, log: RunLog, stop: threading.Event) -> RunOutcome:
    from core.train.run import RunHooks, run_training

    with progress_bar(out, width=24, terminal_only=True, disable=not log.echo) as bar:
        handle = bar.add_task("starting", total=None)

        def on_stage(name: str) -> None:
            log(f"stage: {name}")
            bar.update(handle, description=name)

        def on_step(number: int, total: int) -> None:
            bar.update(handle, completed=number, total=total)

        def on_log(number: int, epoch: float | None, split: str, logs: dict[str, float]) -> None:
            shown = [f"{k}={v:.4g}" for k, v in sorted(logs.items()) if isinstance(v, int | float)]
            log(f"step {number} {split}: " + ", ".join(shown), echo=False)
            if "loss" in logs and "rewards/accuracies" in logs:
                prefix = "val " if split == "eval" else ""
                bar.update(
                    handle,
                    description=f"{prefix}loss {logs['loss']:.3f} acc {logs['rewards/accuracies']:.2f}",
                )

        display = RunHooks(on_stage=on_stage, on_log=on_log, on_step=on_step)
        return run_training(spec, training.database_hooks(store, spec.run_id, stop.is_set, display))


def _finish(ws: Workspace, store: Store, spec: RunSpec, outcome: RunOutcome, log: RunLog) -> int:
    if outcome.cancelled:
        runs.end_run(store, spec.run_id, CANCELLED, step=outcome.global_step, options=outcome.options)
        log(
            f"run {spec.run_id} cancelled at step {outcome.global_step}; "
            f"continue it with: agentpref-tui --train -w {ws.root} --resume {spec.run_id}",
            "yellow",
        )
        return EXIT_FAILURE
    runs.end_run(
        store,
        spec.run_id,
        FINISHED,
        adapter_path=ws.to_stored(outcome.adapter_dir) if outcome.adapter_dir else None,
        final_metrics=outcome.final_metrics,
        options=outcome.options,
        step=outcome.global_step,
        max_steps=outcome.max_steps,
        stage="done",
    )
    accuracy = outcome.final_metrics.get("eval_rewards/accuracies")
    shown = f"; validation rewards/accuracies {accuracy:.3f}" if accuracy is not None else ""
    log(
        f"run {spec.run_id} finished after {outcome.global_step} steps{shown}; "
        f"adapter: {outcome.adapter_dir}",
        "green",
    )
    return EXIT_OK


def _follow_main_process(ws: Workspace, run_id: str, config: Config, base: Path, resume: bool) -> int:
    """A non-main process under accelerate: wait for the main one's dataset, train, write nothing."""
    from core.train.run import RunHooks, run_training

    out_dir = ws.runs_dir / run_id
    deadline = time.monotonic() + 600
    while not (out_dir / ".dataset-ready").exists():
        if time.monotonic() > deadline:
            raise BadInput(f"the main process never wrote the dataset of run {run_id} to {out_dir}")
        time.sleep(1)
    spec = RunSpec(run_id, out_dir, base, config.train, resume=resume)
    # The main process decides when to stop (see core.train.run._agreed_stop): a signal here waits for it.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    outcome = run_training(spec, RunHooks())
    return EXIT_FAILURE if outcome.cancelled else EXIT_OK
