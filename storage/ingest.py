"""Import: read rollout files, classify and check every step, store each file all-or-nothing.

A file is the unit of atomicity. One broken record drops that whole file (the report says
which record and why) while the other files of the same command are still imported.
Parsing and checking cost far more than SQLite's writes, so they run in worker processes
while this process writes what comes back, in the order the files were given: many files
are read a file per worker task, whatever their format; one large native JSONL file alone is
read in chunks of lines. Below PARALLEL_MIN_BYTES everything stays in this process, where
starting workers would cost more than it saves.
"""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import pickle
import signal
import stat
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from itertools import chain, count
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
PARALLEL_MIN_BYTES = 4 << 20  # less input than this is not worth starting workers for
MAX_WORKERS = 4  # past this, this process's writing, not the workers' reading, sets the pace


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


def default_workers() -> int:
    return min(MAX_WORKERS, os.cpu_count() or 1)


def import_files(
    store: Store,
    paths: Iterable[Path],
    config: Config,
    fmt: str = "auto",
    on_file: Callable[[FileResult], None] | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import `paths` in the order given; `on_file` hears of each file as soon as it is stored."""
    report = ImportReport()
    checker = Checker(known_tasks(store), config)
    options = ReadOptions(max_observation_bytes=config.imports.max_observation_bytes)
    files = [Path(p) for p in paths]
    workers = default_workers() if workers is None else workers

    def done(result: FileResult) -> None:
        report.files.append(result)
        if on_file:
            on_file(result)

    parallel = workers > 1 and len(files) > 1 and _total_size(files) >= PARALLEL_MIN_BYTES
    with (
        tempfile.TemporaryDirectory(prefix="agentpref-import-") as spools,
        _pool(workers, checker, options) if parallel else nullcontext() as pool,
    ):
        _Importer(store, checker, options, fmt, workers, Path(spools)).run(files, pool, done)
    return report


def _placeholder(task: Task) -> bool:
    """A task row made for imported rollouts that named only a task id."""
    return not (task.instruction or task.test_command or task.allowed_globs or task.repo_path)


def _total_size(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with suppress(OSError):  # such a file gets its own message when its turn comes
            total += path.stat().st_size
    return total


# What makes one file unimportable, not the whole command; each becomes a message naming the file.
IMPORT_ERRORS = (FormatError, CheckError, OSError, UnicodeError, ValidationError, OverflowError)


def _why(path: Path | str, exc: Exception) -> str:
    """The report's message for a file that cannot be imported, the same wherever it was read."""
    if isinstance(exc, FormatError):
        return str(exc)
    if isinstance(exc, CheckError):
        return f"{path}: {exc}"
    if isinstance(exc, ValidationError):  # a reader built a model from a value the schema refuses
        return f"{path}: {validation_message(exc)}"
    if isinstance(exc, OverflowError):  # the schema bounds what reaches SQLite; this is the last guard
        return f"{path}: a number too large to store (SQLite holds 64-bit integers)"
    return f"{path}: cannot read the file ({exc})"


@dataclass
class _Spooled:
    """A file read and checked into `spool` (pickled batches of rows), nothing of it stored yet.

    Small enough to send back from a worker: the rows stay on disk.
    """

    spool: Path
    format: str = ""
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    task_ids: set[str] = field(default_factory=set)
    # For each task id the checks did not know: the tasks its rollouts carried (None: none).
    carried: dict[str, list[Task | None]] = field(default_factory=dict)


@dataclass
class _Pending:
    """A file between its cheap checks and its storing; `future` when a worker reads it."""

    result: FileResult
    digest: str = ""
    future: Future[_Spooled] | None = None


class _Importer:
    """Takes files to stored rows one by one, each all-or-nothing, in the order given."""

    def __init__(
        self, store: Store, checker: Checker, options: ReadOptions, fmt: str, workers: int, spools: Path
    ) -> None:
        self.store = store
        self.checker = checker
        self.options = options
        self.fmt = fmt
        self.workers = workers
        self.spools = spools
        self.names = count()

    def run(
        self, paths: list[Path], pool: ProcessPoolExecutor | None, done: Callable[[FileResult], None]
    ) -> None:
        """With a pool, workers read up to two files each ahead of the oldest, which is stored
        as soon as it is read: order kept, and only a few spools on disk however many files."""
        ahead = 2 * self.workers if pool else 1
        waiting: deque[_Pending] = deque()
        for path in paths:
            waiting.append(self.start(path, pool))
            if len(waiting) >= ahead:
                done(self.finish(waiting.popleft()))
        while waiting:
            done(self.finish(waiting.popleft()))

    def start(self, path: Path, pool: ProcessPoolExecutor | None) -> _Pending:
        """What is known before reading: not a file, imported before. Then, with a pool, a worker
        reads it, even detecting the format (it parses JSON)."""
        pending = _Pending(FileResult(path=str(path)))
        result = pending.result
        result.error = _not_a_regular_file(path)
        if result.error:
            return pending
        try:
            pending.digest = file_digest(path)
            result.already_imported = self.store.has_import(pending.digest)
            if not result.already_imported and pool is not None:
                pending.future = pool.submit(_spool_in_worker, path, self.fmt, self.spool_path())
        except IMPORT_ERRORS as exc:
            result.error = _why(path, exc)
        return pending

    def finish(self, pending: _Pending) -> FileResult:
        """The file's result, once it is stored or has failed (then nothing of it counts)."""
        result = pending.result
        if not (result.error or result.already_imported):
            try:
                self.store_file(pending)
            except IMPORT_ERRORS as exc:
                result.error = _why(result.path, exc)
        if result.error:
            result.imported = result.duplicates = 0
            result.warnings.clear()
        return result

    def store_file(self, pending: _Pending) -> None:
        """Store a file whose predecessors are all stored: its new tasks, its rows, and last the
        record that it was imported."""
        result = pending.result
        if self.store.has_import(pending.digest):  # the same content earlier in this command
            result.already_imported = True
            return
        spooled = self.read(pending)
        try:
            result.format, result.error, result.warnings = spooled.format, spooled.error, spooled.warnings
            if result.error:
                return
            new_tasks = _new_tasks(spooled, self.checker.tasks)
            with spooled.spool.open("rb") as spool:
                _store_spool(self.store, spool, new_tasks, spooled.task_ids, result, pending.digest)
            self.checker.tasks.update(new_tasks)
        finally:
            spooled.spool.unlink(missing_ok=True)

    def read(self, pending: _Pending) -> _Spooled:
        """The worker's spool, or the file read here: when there are no workers, or when the
        worker checked it against other tasks than the ones known now."""
        path = Path(pending.result.path)
        if pending.future is None:  # a single large native file is still read in chunks by a pool
            return _spool_file(path, self.fmt, self.options, self.checker, self.spool_path(), self.workers)
        spooled = pending.future.result()
        if _checked_as_here(spooled, self.checker.tasks):
            return spooled
        spooled.spool.unlink(missing_ok=True)  # read again with no second pool beside the first
        return _spool_file(path, self.fmt, self.options, self.checker, self.spool_path(), workers=1)

    def spool_path(self) -> Path:
        return self.spools / f"{next(self.names)}.spool"


def _checked_as_here(spooled: _Spooled, known: dict[str, Task]) -> bool:
    """Whether a worker checked the file's rollouts against the tasks this process knows now.

    A worker knows the tasks of the import's start. A file before this one may since have
    brought a task that this file's rollouts name; read in order, they are checked against
    that task, not the one each carries (as they would be in a later import), so the file is
    read again here.
    """
    return all(
        task_id not in known or all(task == known[task_id] for task in carried)
        for task_id, carried in spooled.carried.items()
    )


def _new_tasks(spooled: _Spooled, known: dict[str, Task]) -> dict[str, Task]:
    """For each task id the workspace lacks, the first task one of the file's rollouts carried,
    as a description: never runnable, whatever the reader let through."""
    new = {}
    for task_id, carried in spooled.carried.items():
        first = next((task for task in carried if task is not None), None)
        if first is not None and task_id not in known:
            new[task_id] = first.description()
    return new


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


def _spool_file(
    path: Path, fmt: str, options: ReadOptions, checker: Checker, spool: Path, workers: int
) -> _Spooled:
    """Read and check the whole file into `spool` before anything of it is written: a broken
    record stops it with nothing stored and no lock ever taken. A failure comes back as its
    message, so a worker's report reads exactly as this process's would."""
    spooled = _Spooled(spool)
    try:
        spooled.format = detect(path) if fmt == "auto" else fmt
        with spool.open("wb") as out:
            stream = _prepared_stream(path, spooled.format, options, checker, workers)
            _spool(stream, out, spooled, checker, str(path))
    except IMPORT_ERRORS as exc:
        spooled.error = _why(path, exc)
    return spooled


def _spool(
    stream: Iterator[rows.PreparedRollout], out: BinaryIO, spooled: _Spooled, checker: Checker, path: str
) -> None:
    """Pickle the checked rollouts into `out` a batch at a time, noting their task ids, the
    tasks carried by rollouts whose task the checks did not know, and cut observations."""
    batch: list[rows.PreparedRollout] = []
    for item in stream:
        spooled.task_ids.add(item.task_id)
        if item.task_id not in checker.tasks:
            carried = spooled.carried.setdefault(item.task_id, [])
            if item.task not in carried:
                carried.append(item.task)
        for step, cut in item.truncations:
            spooled.warnings.append(
                f"{path}, record {item.rollout['source_record']}, step {step}: observation cut by "
                f"{cut} bytes (over [import] max_observation_bytes)"
            )
        batch.append(item)
        if len(batch) >= BATCH:
            pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
            batch = []
    if batch:
        pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)


def _store_spool(
    store: Store,
    spool: BinaryIO,
    new_tasks: dict[str, Task],
    task_ids: set[str],
    result: FileResult,
    digest: str,
) -> None:
    """Write the checked rollouts one batch per transaction, so the write lock is held for a
    moment at a time and the labelling screen, a training run's heartbeat and other imports
    get in between. The file counts as imported only after its last batch (`record_import`):
    an import killed half-way is completed by running it again (stored rollouts are skipped).

    A file of one batch, as most files of one trajectory are, is one transaction in all: each
    commit waits for the disk (`synchronous = FULL`), and three a file would set the pace of
    an import of many small files.
    """
    batches = _unspool(spool)
    first, second = next(batches, []), next(batches, None)
    if second is None:
        with store.write():
            _add_tasks(store, new_tasks, task_ids)
            _insert(store, first, result)
            store.record_import(digest, result.path, result.format, result.imported)
        return
    with store.write():
        _add_tasks(store, new_tasks, task_ids)
    for batch in chain([first, second], batches):
        _insert(store, batch, result)  # its own short transaction
    with store.write():
        store.record_import(digest, result.path, result.format, result.imported)


def _unspool(spool: BinaryIO) -> Iterator[list[rows.PreparedRollout]]:
    while True:
        try:
            yield pickle.load(spool)
        except EOFError:
            return


def _add_tasks(store: Store, new_tasks: dict[str, Task], task_ids: set[str]) -> None:
    for task in new_tasks.values():
        existing = store.task(task.id)
        if existing is None or _placeholder(existing):  # another process may have added it since
            store.upsert_task(task)
    store.ensure_tasks(task_ids)


def _insert(store: Store, batch: list[rows.PreparedRollout], result: FileResult) -> None:
    new = store.insert_rollouts(batch)
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


# -- worker processes ---------------------------------------------------------------------
_worker: tuple[Checker, ReadOptions] | None = None


@contextmanager
def _pool(workers: int, checker: Checker, options: ReadOptions) -> Iterator[ProcessPoolExecutor]:
    """Worker processes, each with a Checker for the tasks known now.

    They ignore Ctrl-C: this process takes it and, on it or any other error, stops them at
    once (what they were reading is thrown away; stored files stay stored).
    """
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    )
    pool = ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(checker.tasks, checker.config, options),
    )
    try:
        yield pool
    except BaseException:
        for process in list(pool._processes.values()):  # no public way before Python 3.14
            process.terminate()
        raise
    finally:
        pool.shutdown(cancel_futures=True)


def _init_worker(tasks: dict[str, Task], config: Config, options: ReadOptions) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the importing process
    global _worker
    _worker = (Checker(tasks, config), options)


def _spool_in_worker(path: Path, fmt: str, spool: Path) -> _Spooled:
    assert _worker is not None
    checker, options = _worker
    return _spool_file(path, fmt, options, checker, spool, workers=1)


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
    with _pool(workers, checker, options) as pool:
        pending: deque[Future[list[rows.PreparedRollout]]] = deque()
        for first_line, chunk in _chunks(path):
            pending.append(pool.submit(_work, str(path), first_line, chunk))
            if len(pending) >= 3 * workers:  # bounded: memory stays flat on huge files
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()
