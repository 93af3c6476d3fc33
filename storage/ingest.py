"""Import: read rollout files, classify and check every step, store each file all-or-nothing.

A file is the unit of atomicity. One broken record drops that whole file (the report says
which record and why) while the other files of the same command are still imported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.checks import load_custom, run_checks, score
from core.config import Config
from core.diffs import changed_lines
from core.formats import FormatError, ReadOptions, detect, read_rollouts
from core.schema import Rollout, Task
from storage import rows
from storage.store import Store

BATCH = 500


@dataclass
class FileResult:
    path: str
    format: str = ""
    imported: int = 0  # new rollouts stored
    duplicates: int = 0  # rollouts already in the workspace
    already_imported: bool = False  # the same file content was imported before
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    files: list[FileResult] = field(default_factory=list)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.error]

    @property
    def imported(self) -> int:
        return sum(f.imported for f in self.files)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Checker:
    """Classifies, checks and scores rollouts against the workspace's tasks and config."""

    def __init__(self, store: Store, config: Config) -> None:
        self.config = config
        self.tasks: dict[str, Task] = {t.id: t for t in store.tasks()}
        load_custom(config.checks)

    def apply(self, rollout: Rollout) -> None:
        task = self.tasks.get(rollout.task_id) or rollout.task
        rollout.flags = run_checks(rollout, task, self.config.checks)
        rollout.score = score(rollout.flags)


def prepare(rollout: Rollout, checker: Checker) -> tuple[Rollout, bytes, int]:
    """Check a rollout, give it its content id, and encode its steps for storage."""
    checker.apply(rollout)
    steps_json = rows.STEPS.dump_json(rollout.steps, exclude_none=True, exclude={"__all__": {"action"}})
    identity = hashlib.blake2b(digest_size=10)
    for part in (rollout.task_id, rollout.policy, str(rollout.seed), rollout.exit_status, rollout.final_diff):
        identity.update(part.encode("utf-8", "surrogatepass") + b"\x1f")
    identity.update(steps_json)
    rollout.id = identity.hexdigest()
    return rollout, rows.compress(steps_json), changed_lines(rollout.final_diff)


def import_files(
    store: Store,
    paths: Iterable[Path],
    config: Config,
    fmt: str = "auto",
    on_file: Callable[[FileResult], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    checker = Checker(store, config)
    options = ReadOptions(max_observation_bytes=config.imports.max_observation_bytes)
    for path in paths:
        result = _import_one(store, Path(path), fmt, options, checker)
        report.files.append(result)
        if on_file:
            on_file(result)
    return report


def _import_one(store: Store, path: Path, fmt: str, options: ReadOptions, checker: Checker) -> FileResult:
    result = FileResult(path=str(path))
    if not path.is_file():
        result.error = f"{path}: no such file"
        return result
    try:
        digest = file_digest(path)
        if store.has_import(digest):
            result.already_imported = True
            return result
        result.format = detect(path) if fmt == "auto" else fmt
        with store.db.atomic():
            batch: list[tuple[Rollout, bytes, int]] = []
            task_ids: set[str] = set()
            for rollout in read_rollouts(path, result.format, options):
                _note_truncation(rollout, result)
                if rollout.task is not None and rollout.task_id not in checker.tasks:
                    store.upsert_task(rollout.task)
                    checker.tasks[rollout.task_id] = rollout.task
                task_ids.add(rollout.task_id)
                batch.append(prepare(rollout, checker))
                if len(batch) >= BATCH:
                    result.imported += store.insert_rollouts(batch)
                    result.duplicates += len(batch)
                    batch = []
            result.imported += store.insert_rollouts(batch)
            result.duplicates += len(batch)
            result.duplicates -= result.imported
            store.ensure_tasks(task_ids)
            store.record_import(digest, str(path), result.format, result.imported)
    except FormatError as exc:
        result.error = str(exc)
        result.imported = result.duplicates = 0
    except (OSError, UnicodeError) as exc:
        result.error = f"{path}: cannot read the file ({exc})"
        result.imported = result.duplicates = 0
    return result


def _note_truncation(rollout: Rollout, result: FileResult) -> None:
    for step in rollout.steps:
        obs = step.observation
        if obs is not None and obs.truncated_bytes:
            result.warnings.append(
                f"{result.path}, record {rollout.source.record}, step {step.index}: observation cut by "
                f"{obs.truncated_bytes} bytes (over [import] max_observation_bytes)"
            )
