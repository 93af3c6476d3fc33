"""The training process's life in the workspace, below the command line that starts it.

It adopts the row the TUI queued (or makes one), writes the run's data, trains while SIGTERM or
Ctrl-C ask it to stop at the next step and a heartbeat shows it alive, and records how it ended:
finished with its adapter, cancelled with a checkpoint to resume from, or failed with the
traceback. Under `accelerate launch` every process trains; only the main one (rank 0) writes to
the database, the others follow it (`follow_main_process`). What it has to say goes to the run's
log (`Log`), which the command line echoes when a person is watching.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.config import Config, TrainConfig
from core.schema import RunConfig
from core.train.run import RunHooks, RunOutcome, RunSpec, TrainError, last_checkpoint, run_training
from storage import runs, training
from storage.jobs import CANCELLED, FAILED, FINISHED, QUEUED, RUNNING, StopOnSignal, job_process_alive
from storage.store import Store
from storage.workspace import Workspace

LOG_NAME = "train.log"
DATASET_READY = ".dataset-ready"  # the main process wrote the data: the others may start
FOLLOW_TIMEOUT_S = 600


class Log(Protocol):
    """The run's log: a line, its style where it is echoed, and whether a terminal sees it too."""

    path: Path

    def __call__(self, line: str, style: str = "", echo: bool = True) -> None: ...


@dataclass
class TrainEnd:
    """How a run in this process ended: `finished`, `cancelled` or `failed` (with what raised)."""

    status: str
    outcome: RunOutcome | None = None
    error: BaseException | None = None


def resume_settings(
    ws: Workspace, store: Store, run_id: str, check_status: bool = True
) -> tuple[Config, Path]:
    """A run's own settings and base model, to continue it; TrainError where it cannot be.

    Under accelerate the main process may have started it already (`check_status` off there).
    """
    row = runs.get_run(store, run_id)
    if row is None:
        known = ", ".join(r.id for r in runs.list_runs(store)) or "none"
        raise TrainError(f"no run {run_id} in {ws.root} (runs: {known})")
    status = row.shown_status
    if status == FINISHED:
        raise TrainError(f"run {run_id} has finished; nothing to resume (its adapter: {row.adapter_path})")
    # Shown lost or not, a run whose process lives is not resumed: two trainers on one run.
    if check_status and (status == RUNNING or job_process_alive(row)) and row.pid != os.getpid():
        raise TrainError(f"run {run_id} is still running (pid {row.pid}); stop it first")
    if not row.config.train:
        raise TrainError(f"run {run_id} never started (no settings recorded); start a new run")
    config = Config(train=TrainConfig.model_validate(row.config.train))
    return config, ws.from_stored(row.config.base_model)


def adopt(store: Store, run_id: str | None, resume: bool) -> str | None:
    """The row this process takes over: the TUI's queued one, or the run being resumed; None for
    a new row. TrainError for a bad id or a run of that name that exists already."""
    if run_id and not runs.RUN_ID.match(run_id):
        raise TrainError(f"--run-id {run_id!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    row = runs.get_run(store, run_id) if run_id else None
    if resume or (row is not None and row.status == QUEUED):
        return run_id
    if row is not None:
        raise TrainError(f"a run named {run_id} already exists; pick another --run-id or --resume it")
    return None


def check_start(
    ws: Workspace, store: Store, config: Config, resume: bool, adopted: str | None
) -> training.Plan | None:
    """Refuse a run that cannot work before anything long starts; a new run's plan. The row the
    TUI made must say why nothing started, so an adopted row ends `failed` with the reason."""
    try:
        if resume:
            training.check_disk(ws.runs_dir, config.train.min_free_disk_mb)
            training.check_device(config.train.device)
            return None
        return training.plan_run(ws, config, store)
    except ValueError as exc:  # TrainError, or a config the workspace cannot serve
        if adopted:
            runs.end_run(store, adopted, FAILED, error=str(exc))
        raise TrainError(str(exc)) from exc


def run(
    ws: Workspace,
    store: Store,
    run_id: str,
    config: Config,
    plan: training.Plan | None,
    log: Log,
    display: Callable[[], AbstractContextManager[RunHooks]],
) -> TrainEnd:
    """Train run `run_id` in this process (a new one from `plan`, else resumed), recording it.

    `display` opens what shows the training as it goes (a progress bar) and yields its hooks.
    Whatever raises ends the run `failed` (`cancelled` for an interrupt), its traceback in the
    log and on the row.
    """
    out_dir = ws.runs_dir / run_id
    with StopOnSignal(
        lambda: log("stop requested: saving a checkpoint at the end of this step", "yellow"),
        interrupt_twice=True,
    ) as stop:
        try:
            # Beating from here: writing a large dataset must not look like a lost run.
            with runs.RUNS.running_here(store, run_id):
                spec = _prepare(ws, store, run_id, out_dir, config, plan, log)
                if stop.is_set():
                    raise KeyboardInterrupt("stopped before training started")
                with display() as shown:
                    outcome = run_training(spec, training.database_hooks(store, run_id, stop.is_set, shown))
                return _finish(ws, store, spec, outcome, log)
        except BaseException as exc:  # the traceback stays in the log and on the run's row
            text = traceback.format_exc()
            log(text.rstrip(), echo=False)
            status = CANCELLED if isinstance(exc, KeyboardInterrupt) else FAILED
            runs.end_run(store, run_id, status, error=text)
            return TrainEnd(status, error=exc)


def _prepare(
    ws: Workspace,
    store: Store,
    run_id: str,
    out_dir: Path,
    config: Config,
    plan: training.Plan | None,
    log: Log,
) -> RunSpec:
    """Write a new run's data (or take a resumed run's), and say what it trains on."""
    if plan is not None:
        log(f"run {run_id}: base model {plan.base_model}; dataset {plan.counts}")
        log(
            f"label policy {plan.settings.label_policy.value}: {len(plan.dropped)} pair(s) dropped"
            " because their annotators disagree"
        )
        for line in plan.skipped[:20]:
            log(f"skipped {line}")
        for line in training.write_dataset(plan, out_dir):
            log(f"warning: {line}", "yellow")
        runs.update_run(
            store,
            run_id,
            config=RunConfig(train=config.train.model_dump(), base_model=ws.to_stored(plan.base_model)),
            dataset=plan.counts,
            log_path=ws.to_stored(out_dir / LOG_NAME),
        )
        base, counts, resume = plan.base_model, plan.counts, False
    else:
        row = runs.get_run(store, run_id)
        if row is None:
            raise TrainError(f"run {run_id} is gone from the database")
        base, counts, resume = ws.from_stored(row.config.base_model), dict(row.dataset), True
        checkpoint = last_checkpoint(out_dir)
        step = int(checkpoint.name.split("-")[-1]) if checkpoint else 0
        runs.forget_metrics_after(store, run_id, step)  # steps after the checkpoint are trained again
        log(f"resuming run {run_id} from {checkpoint.name if checkpoint else 'the start (no checkpoint)'}")
    (out_dir / DATASET_READY).touch()
    return RunSpec(run_id, out_dir, base, config.train, resume=resume, dataset_counts=counts)


def _finish(ws: Workspace, store: Store, spec: RunSpec, outcome: RunOutcome, log: Log) -> TrainEnd:
    if outcome.cancelled:
        runs.end_run(store, spec.run_id, CANCELLED, step=outcome.global_step, options=outcome.options)
        log(
            f"run {spec.run_id} cancelled at step {outcome.global_step}; "
            f"continue it with: agentpref-tui --train -w {ws.root} --resume {spec.run_id}",
            "yellow",
        )
        return TrainEnd(CANCELLED, outcome)
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
    return TrainEnd(FINISHED, outcome)


def follow_main_process(ws: Workspace, run_id: str, config: Config, base: Path, resume: bool) -> RunOutcome:
    """A non-main process under accelerate: wait for the main one's dataset, train, write nothing.

    TrainError when the main process never wrote the dataset.
    """
    out_dir = ws.runs_dir / run_id
    deadline = time.monotonic() + FOLLOW_TIMEOUT_S
    while not (out_dir / DATASET_READY).exists():
        if time.monotonic() > deadline:
            raise TrainError(f"the main process never wrote the dataset of run {run_id} to {out_dir}")
        time.sleep(1)
    spec = RunSpec(run_id, out_dir, base, config.train, resume=resume)
    # The main process decides when to stop (see core.train.run._agreed_stop): a signal here waits for it.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    return run_training(spec, RunHooks())
