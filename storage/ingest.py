"""Import: read rollout files, classify and check every step, store each file all-or-nothing.

A file is the unit of atomicity. One broken record drops that whole file (the report says
which record and why) while the other files of the same command are still imported.
Large native JSONL files are parsed and checked by a pool of worker processes, in chunks of
lines, while this process writes what comes back in order: parsing and checking cost far
more than SQLite's writes, so the import scales with the cores.
"""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import pickle
import stat
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from core.checks import REGISTRY, CheckError, load_custom, run_checks, score
from core.config import Config, ConfigError, check_ids
from core.diffs import changed_lines
from core.formats import FormatError, ReadOptions, detect, native, read_rollouts
from core.formats.common import validation_message
from core.schema import Rollout, Task
from storage import rows
from storage.store import Store

BATCH = 500  # rollouts per INSERT batch
CHUNK_LINES = 200  # native lines per worker task
PARALLEL_MIN_BYTES = 4 << 20  # smaller files are not worth starting workers for


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


def load_checks(config: Config) -> None:
    """The user's custom checks, then a check that every check id the config names exists."""
    try:
        load_custom(config.checks)
    except ValueError as exc:
        raise ConfigError(f"[checks] custom: {exc}") from exc
    check_ids(config, set(REGISTRY))


def known_tasks(store: Store) -> dict[str, Task]:
    """The workspace's task definitions (placeholder rows for imported-only ids left out)."""
    return {t.id: t for t in store.tasks() if not _placeholder(t)}


class Checker:
    """Classifies, checks, scores and encodes rollouts against the workspace's tasks and config."""

    def __init__(self, tasks: dict[str, Task], config: Config) -> None:
        self.config = config
        self.tasks = tasks
        load_checks(config)

    def prepare(self, rollout: Rollout) -> rows.PreparedRollout:
        """Check a rollout, give it its content id, and turn it into rows."""
        task = self.tasks.get(rollout.task_id) or rollout.task
        rollout.flags = run_checks(rollout, task, self.config.checks)
        rollout.score = score(rollout.flags)
        steps_json = rows.STEPS.dump_json(rollout.steps, exclude_none=True, exclude={"__all__": {"action"}})
        rollout.id = rollout_identity(rollout)
        return rows.prepared(rollout, rows.compress(steps_json), changed_lines(rollout.final_diff))


class RolloutSink:
    """Stores the harness's rollouts one by one as they finish, each committed at once."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.checker = Checker(known_tasks(store), config)
        self.stored = 0

    def __call__(self, rollout: Rollout) -> rows.PreparedRollout:
        item = self.checker.prepare(rollout)
        with self.store.write():
            self.stored += self.store.insert_rollouts([item])
            self.store.ensure_tasks([item.task_id])
        return item


# What a rollout *did*: its calls and how each ended, not when, nor the text of the outputs
# (a rerun of the same seed differs only in timings such as pytest's "in 0.31s").
IDENTITY_FIELDS: dict[str, Any] = {
    "__all__": {
        "thought": True,
        "tool_call": {"name", "arguments"},
        "malformed": True,
        "observation": {"exit_code", "error"},
    }
}


def rollout_identity(rollout: Rollout) -> str:
    identity = hashlib.blake2b(digest_size=10)
    parts = (rollout.task_id, rollout.policy, str(rollout.seed), rollout.exit_status, rollout.final_diff)
    for part in (*parts, str(rollout.tests_passed)):
        identity.update(part.encode("utf-8", "surrogatepass") + b"\x1f")
    if rollout.eval_id:  # the same seed in two evaluations is two rollouts, one in each
        identity.update(b"eval\x1f" + rollout.eval_id.encode())
    if rollout.parent_id:  # a branch is its own rollout even where it behaves like another
        identity.update(f"branch\x1f{rollout.parent_id}\x1f{rollout.branch_step}".encode())
    identity.update(rows.STEPS.dump_json(rollout.steps, include=IDENTITY_FIELDS))
    return identity.hexdigest()


def import_files(
    store: Store,
    paths: Iterable[Path],
    config: Config,
    fmt: str = "auto",
    on_file: Callable[[FileResult], None] | None = None,
    workers: int | None = None,
) -> ImportReport:
    report = ImportReport()
    checker = Checker(known_tasks(store), config)
    options = ReadOptions(max_observation_bytes=config.imports.max_observation_bytes)
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    for path in paths:
        result = _import_one(store, Path(path), fmt, options, checker, workers)
        report.files.append(result)
        if on_file:
            on_file(result)
    return report


def _placeholder(task: Task) -> bool:
    """A task row made for imported rollouts that named only a task id."""
    return not (task.instruction or task.test_command or task.allowed_globs or task.repo_path)


def _import_one(
    store: Store, path: Path, fmt: str, options: ReadOptions, checker: Checker, workers: int
) -> FileResult:
    result = FileResult(path=str(path))
    result.error = _not_a_regular_file(path)
    if result.error:
        return result
    try:
        digest = file_digest(path)
        if store.has_import(digest):
            result.already_imported = True
            return result
        result.format = detect(path) if fmt == "auto" else fmt
        with tempfile.TemporaryFile(prefix="agentpref-import-") as spool:
            stream = _prepared_stream(path, result.format, options, checker, workers)
            new_tasks, task_ids = _spool(stream, spool, result, checker)
            _store_spool(store, spool, new_tasks, task_ids, result)
            with store.write():
                store.record_import(digest, str(path), result.format, result.imported)
        checker.tasks.update(new_tasks)
    except FormatError as exc:
        result.error = str(exc)
    except CheckError as exc:
        result.error = f"{path}: {exc}"
    except (OSError, UnicodeError) as exc:
        result.error = f"{path}: cannot read the file ({exc})"
    except ValidationError as exc:  # a reader built a model from a value the schema refuses
        result.error = f"{path}: {validation_message(exc)}"
    except OverflowError:  # the schema bounds what reaches SQLite; this is the last guard
        result.error = f"{path}: a number too large to store (SQLite holds 64-bit integers)"
    if result.error:
        result.imported = result.duplicates = 0
        result.warnings.clear()
    return result


def _not_a_regular_file(path: Path) -> str | None:
    """Why `path` cannot be read as a file of rollouts, or None when it can.

    Checked before opening: a FIFO would block the import forever, a folder is a slip of the
    shell, and each gets a message that says which.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{path}: a loop of symbolic links, not a file"
        if exc.errno == errno.ENOENT:
            return f"{path}: " + ("a symbolic link to nothing" if path.is_symlink() else "no such file")
        return f"{path}: cannot read the file ({exc.strerror})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return f"{path}: a folder, not a file (name the files in it, e.g. {path}/*.jsonl)"
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"{path}: {kind}, not a regular file"


def _spool(
    stream: Iterator[rows.PreparedRollout], spool: BinaryIO, result: FileResult, checker: Checker
) -> tuple[dict[str, Task], set[str]]:
    """Parse and check the whole file into `spool`, a batch at a time, before anything is
    written: a broken record stops the import with nothing stored and no lock ever taken."""
    batch: list[rows.PreparedRollout] = []
    task_ids: set[str] = set()
    new_tasks: dict[str, Task] = {}
    for item in stream:
        if item.task is not None and item.task_id not in checker.tasks and item.task_id not in new_tasks:
            new_tasks[item.task_id] = (
                item.task.description()
            )  # never runnable, whatever the reader let through
        task_ids.add(item.task_id)
        for step, cut in item.truncations:
            result.warnings.append(
                f"{result.path}, record {item.rollout['source_record']}, step {step}: observation cut by "
                f"{cut} bytes (over [import] max_observation_bytes)"
            )
        batch.append(item)
        if len(batch) >= BATCH:
            pickle.dump(batch, spool, protocol=pickle.HIGHEST_PROTOCOL)
            batch = []
    if batch:
        pickle.dump(batch, spool, protocol=pickle.HIGHEST_PROTOCOL)
    return new_tasks, task_ids


def _store_spool(
    store: Store, spool: BinaryIO, new_tasks: dict[str, Task], task_ids: set[str], result: FileResult
) -> None:
    """Write the checked rollouts one batch per transaction, so the write lock is held for a
    moment at a time and the labelling screen, a training run's heartbeat and other imports
    get in between. The file counts as imported only after its last batch (`record_import`):
    an import killed half-way is completed by running it again (stored rollouts are skipped)."""
    with store.write():
        for task in new_tasks.values():
            existing = store.task(task.id)
            if existing is None or _placeholder(existing):  # another process may have added it since
                store.upsert_task(task)
        store.ensure_tasks(task_ids)
    spool.seek(0)
    while True:
        try:
            batch: list[rows.PreparedRollout] = pickle.load(spool)
        except EOFError:
            return
        new = store.insert_rollouts(batch)  # its own short transaction
        result.imported += new
        result.duplicates += len(batch) - new


def _prepared_stream(
    path: Path, fmt: str, options: ReadOptions, checker: Checker, workers: int
) -> Iterator[rows.PreparedRollout]:
    if fmt == native.NAME and workers > 1 and path.stat().st_size >= PARALLEL_MIN_BYTES:
        yield from _parallel_native(path, options, checker, workers)
    else:
        for rollout in read_rollouts(path, fmt, options):
            yield checker.prepare(rollout)


# -- parallel native import ---------------------------------------------------------------
_worker: tuple[Checker, ReadOptions] | None = None


def _init_worker(tasks: dict[str, Task], config: Config, options: ReadOptions) -> None:
    global _worker
    _worker = (Checker(tasks, config), options)


def _work(path: str, first_line: int, chunk: bytes) -> list[rows.PreparedRollout]:
    assert _worker is not None
    checker, options = _worker
    text = chunk.decode("utf-8", "surrogateescape")
    out = []
    for offset, line in enumerate(text.splitlines()):
        if line.strip():
            out.append(checker.prepare(native.parse_line(Path(path), first_line + offset, line, options)))
    return out


def _chunks(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        lineno = 1
        while True:
            lines = [line for _, line in zip(range(CHUNK_LINES), handle, strict=False)]
            if not lines:
                return
            yield lineno, b"".join(lines)
            lineno += len(lines)


def _parallel_native(
    path: Path, options: ReadOptions, checker: Checker, workers: int
) -> Iterator[rows.PreparedRollout]:
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    )
    with ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(checker.tasks, checker.config, options),
    ) as pool:
        pending: deque[Future[list[rows.PreparedRollout]]] = deque()
        try:
            for first_line, chunk in _chunks(path):
                pending.append(pool.submit(_work, str(path), first_line, chunk))
                if len(pending) >= 3 * workers:  # bounded: memory stays flat on huge files
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
