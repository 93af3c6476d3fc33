"""Preparing a training run from the workspace, and wiring its hooks to the database.

Everything that can refuse a run (no preferences, no model, no CUDA, no disk) is checked
here, before the model loads: a user waiting on a remote box learns at once, not after a
minute of tokenisation.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.chat import Rendering
from core.config import Config, TrainConfig
from core.granularity import Granularity
from core.train.dataset import DatasetSplit, length_report, split_by_task, write_jsonl
from core.train.run import TRAIN_FILE, VALIDATION_FILE, RunHooks, TrainError
from storage import runs, service
from storage.store import Store
from storage.workspace import Workspace


@dataclass
class Plan:
    """What a run will train on, known before anything long starts."""

    base_model: Path
    settings: TrainConfig
    split: DatasetSplit
    skipped: list[str]
    dropped: list[int] = field(default_factory=list)  # pairs left out: their annotators disagree

    @property
    def counts(self) -> dict[str, Any]:
        """Recorded with the run (its `dataset`), with the label policy it applied."""
        return {
            **self.split.counts(),
            "skipped": len(self.skipped),
            "label_policy": self.settings.label_policy.value,
            "dropped_disagreement": len(self.dropped),
        }


def base_model_path(ws: Workspace, config: Config) -> Path:
    name = config.train.base_model or config.policy.model
    path = Path(name)
    return path if path.is_absolute() else ws.root / path


def check_model(path: Path) -> None:
    if not (path / "config.json").is_file():
        raise TrainError(
            f"base model {path} does not exist or is not a model folder (expected config.json written by "
            "save_pretrained); set [train] base_model or [policy] model in agentpref.toml"
        )


def check_disk(folder: Path, min_free_mb: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free_mb = shutil.disk_usage(folder).free // (1024 * 1024)
    if free_mb < min_free_mb:
        raise TrainError(
            f"only {free_mb} MB free on the disk holding {folder} (a run needs at least {min_free_mb} MB "
            "for checkpoints and the adapter; [train] min_free_disk_mb)"
        )


def check_device(device: str) -> None:
    if device != "cuda":
        return
    from core.agent.model import pick_device

    pick_device(device, TrainError)  # raises TrainError without CUDA


def dataset_split(
    store: Store, settings: TrainConfig, rendering: Rendering
) -> tuple[DatasetSplit, list[str]]:
    """The rows a run trains on: of several annotators' decisions on a pair, the one
    `settings.label_policy` picks (pairs it drops for disagreement are left out)."""
    result = service.ExportResult()
    rows = list(
        service.dataset_rows(
            store,
            Granularity(settings.granularity),
            rendering,
            settings.human_only,
            result,
            policy=settings.label_policy,
        )
    )
    return split_by_task(rows, settings.validation_fraction, settings.seed), result.skipped


def plan_run(ws: Workspace, config: Config, store: Store) -> Plan:
    """Refuse a run that cannot work; otherwise say what it will train on."""
    settings = config.train
    base = base_model_path(ws, config)
    check_model(base)
    check_device(settings.device)
    check_disk(ws.runs_dir, settings.min_free_disk_mb)
    split, skipped = dataset_split(store, settings, Rendering.of(config.policy))
    dropped = store.resolved_preferences(settings.label_policy)[1]
    if not split.train:
        hint = (
            "no human-confirmed preferences to train on yet: decide pairs in the TUI (l), "
            "or train without --human-only to use the automatic ones"
            if settings.human_only
            else "no preferences to train on yet: decide pairs in the TUI (or accept the mined "
            "proposals with `agentpref-tui label --auto`), then train"
        )
        if dropped:
            hint += (
                f" ({len(dropped)} pair(s) left out because their annotators disagree under [train]"
                f" label_policy = {settings.label_policy.value!r}: adjudicate them, or pick another policy)"
            )
        raise TrainError(
            hint + (f" ({len(skipped)} decided pair(s) could not be exported)" if skipped else "")
        )
    return Plan(base_model=base, settings=settings, split=split, skipped=skipped, dropped=dropped)


def write_dataset(plan: Plan, out_dir: Path) -> list[str]:
    """The run's own copy of its data (a resumed run trains on exactly the same pairs).

    Returns report lines about rows longer than `max_length`.
    """
    from transformers import AutoTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(plan.split.train, out_dir / TRAIN_FILE)
    write_jsonl(plan.split.validation, out_dir / VALIDATION_FILE)
    tokenizer = AutoTokenizer.from_pretrained(plan.base_model)
    report = length_report(tokenizer, plan.split.train + plan.split.validation, plan.settings.max_length)
    return report.lines(plan.settings.truncation_mode)


def database_hooks(
    store: Store, run_id: str, stop_requested: Any, display: RunHooks | None = None
) -> RunHooks:
    """Hooks that record stages, steps and every logged metric of `run_id`, then pass each on
    to `display` (a progress bar, a log) when given."""
    shown = display or RunHooks()

    def stage(name: str) -> None:
        runs.update_run(store, run_id, stage=name)
        shown.on_stage(name)

    def step(number: int, total: int) -> None:
        runs.update_run(store, run_id, step=number, max_steps=total)
        shown.on_step(number, total)

    def log(number: int, epoch: float | None, split: str, logs: dict[str, float]) -> None:
        runs.record_metrics(store, run_id, number, epoch, split, logs)
        shown.on_log(number, epoch, split, logs)

    return RunHooks(on_stage=stage, on_log=log, on_step=step, stop_requested=stop_requested)
