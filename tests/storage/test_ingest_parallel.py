"""Many files read by worker processes store exactly what reading them one by one stores."""

import json
import multiprocessing
import shutil
import sqlite3
from pathlib import Path

import pytest

from bench import synthetic
from core.config import Config
from storage import ingest
from storage.ingest import import_files
from storage.store import Store

FIXTURES = Path(__file__).parents[1] / "core" / "formats" / "fixtures"


def mini_swe_agent_files(folder: Path, count: int) -> list[Path]:
    """Distinct trajectories of three tasks, each file a small edit of a real one."""
    trajectory = json.loads((FIXTURES / "django__django-11099.traj.json").read_text())
    paths = []
    for number in range(count):
        trajectory["info"]["instance_id"] = f"django-{number % 3}"
        action = trajectory["messages"][2]["extra"]["actions"][0]
        action["command"] = action["command"].split(" #")[0] + f" # {number}"
        path = folder / f"run-{number:03d}.traj.json"
        path.write_text(json.dumps(trajectory))
        paths.append(path)
    return paths


def mixed_files(tmp_path: Path) -> list[Path]:
    """Every format, a copy of a file already in the list, and a file of a broken record."""
    minis = mini_swe_agent_files(tmp_path, 12)
    broken = tmp_path / "broken.traj.json"
    broken.write_text(minis[5].read_text().replace('"role": "tool"', '"role": "robot"', 1))
    copy = tmp_path / "copy.traj.json"
    shutil.copy(minis[1], copy)
    native = synthetic.write_jsonl(tmp_path / "native.jsonl", 30, seed=7)
    others = [
        FIXTURES / "openai_chat.jsonl",
        FIXTURES / "astropy__astropy-13033.traj",
        FIXTURES / "unknown.json",
    ]
    return [*minis[:6], broken, native, *others, copy, *minis[6:]]


def contents(db: Path) -> dict[str, list[tuple]]:
    """Every table an import writes, but the times of writing."""
    conn = sqlite3.connect(db)
    found = {}
    for table, order in [("rollouts", "rowid"), ("flags", "rollout_id, check_id"), ("tasks", "rowid")]:
        columns = [c[1] for c in conn.execute(f"PRAGMA table_info({table})") if c[1] != "created_at"]
        found[table] = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}").fetchall()
    found["imports"] = conn.execute(
        "SELECT hash, path, format, rollouts FROM imports ORDER BY rowid"
    ).fetchall()
    conn.close()
    return found


def imported(tmp_path: Path, name: str, paths: list[Path], workers: int, **kwargs) -> tuple[list, dict]:
    with Store(tmp_path / f"{name}.db") as store:
        report = import_files(store, paths, Config(), workers=workers, **kwargs)
    return report.files, contents(tmp_path / f"{name}.db")


@pytest.fixture
def pools(monkeypatch):
    """Starts the worker pool at any size of input, and counts the pools started."""
    started = []
    pool = ingest._pool

    def counted(*args):  # type: ignore[no-untyped-def]
        started.append(args[0])
        return pool(*args)

    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(ingest, "_pool", counted)
    return started


def test_files_read_in_workers_store_what_a_single_process_stores(tmp_path, pools):
    paths = mixed_files(tmp_path)
    serial_results, serial_rows = imported(tmp_path, "serial", paths, workers=1)
    assert pools == []
    parallel_results, parallel_rows = imported(tmp_path, "parallel", paths, workers=2)
    assert pools == [2]  # the native file too is read whole by a worker, not in chunks
    assert parallel_results == serial_results
    assert parallel_rows == serial_rows
    by_path = {Path(r.path).name: r for r in parallel_results}
    assert by_path["copy.traj.json"].already_imported
    assert by_path["broken.traj.json"].error.startswith(f"{tmp_path}/broken.traj.json, record 1: messages[")
    assert by_path["unknown.json"].error.endswith("(use --format to say which)")
    formats = sorted({r.format for r in parallel_results if r.imported})
    assert formats == ["mini-swe-agent", "native", "openai", "swe-agent"]


def test_a_broken_file_among_many_stores_nothing_and_the_others_are_stored(tmp_path, pools):
    paths = mini_swe_agent_files(tmp_path, 20)
    paths[7].write_text(paths[7].read_text()[:-40])
    results, rows = imported(tmp_path, "parallel", paths, workers=2)
    assert pools == [2]
    assert [r.path for r in results if r.error] == [str(paths[7])]
    assert results[7].error.startswith(f"{paths[7]}, line 1: invalid JSON")
    assert results[7].imported == 0 and not results[7].warnings
    assert [r.imported for r in results] == [1] * 7 + [0] + [1] * 12
    assert [path for _, path, _, _ in rows["imports"]] == [str(p) for p in paths if p != paths[7]]
    with Store(tmp_path / "parallel.db") as store:
        assert store.scalar("SELECT count(*) FROM rollouts WHERE source_path = ?", [str(paths[7])]) == 0


def test_files_are_stored_and_reported_in_the_order_given_whichever_worker_finishes_first(tmp_path, pools):
    big = synthetic.write_jsonl(tmp_path / "big.jsonl", 400, seed=3)  # a worker reads it while the other
    paths = [big, *mini_swe_agent_files(tmp_path, 10)]  # reads all the small ones
    heard = []
    results, rows = imported(tmp_path, "parallel", paths, workers=2, on_file=lambda r: heard.append(r.path))
    assert pools == [2]
    assert heard == [r.path for r in results] == [str(p) for p in paths]
    assert [path for _, path, _, _ in rows["imports"]] == [str(p) for p in paths]
    with Store(tmp_path / "parallel.db") as store:
        sources = [row[0] for row in store.db.execute("SELECT source_path FROM rollouts ORDER BY rowid")]
    assert sources == [str(big)] * 400 + [str(p) for p in paths[1:]]


def test_a_task_brought_by_an_earlier_file_checks_the_later_files_as_in_one_process(
    tmp_path, pools, monkeypatch
):
    """A worker knows only the tasks of the import's start. One process checks the second file
    against the task the first brought, not the one the second carries: so is it read again."""
    first = synthetic.write_jsonl(tmp_path / "a.jsonl", 8, seed=1)
    records = [json.loads(line) for line in synthetic.write_jsonl(tmp_path / "b.jsonl", 8, seed=2).open()]
    for record in records:
        record["task"]["allowed_globs"] = ["docs/**"]  # src/ edits are outside it, not outside the first's
    second = tmp_path / "b.jsonl"
    second.write_text("".join(json.dumps(r) + "\n" for r in records))
    read_here = []  # files read in this process; a worker's list is its own
    spool_file = ingest._spool_file

    def spied(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        read_here.append(path.name)
        return spool_file(path, *args, **kwargs)

    monkeypatch.setattr(ingest, "_spool_file", spied)
    serial = imported(tmp_path, "serial", [first, second], workers=1)
    read_here.clear()
    parallel = imported(tmp_path, "parallel", [first, second], workers=2)
    assert pools == [2] and read_here == ["b.jsonl"]
    assert parallel == serial
    monkeypatch.setattr(ingest, "_checked_as_here", lambda *_: True)
    assert imported(tmp_path, "unchecked", [first, second], workers=2)[1]["flags"] != serial[1]["flags"]


def test_ctrl_c_keeps_the_files_stored_and_stops_the_workers(tmp_path, pools, monkeypatch):
    monkeypatch.setattr(ingest.tempfile, "tempdir", str(tmp_path))
    paths = mini_swe_agent_files(tmp_path, 20)
    heard = []

    def interrupt_after_two(result):  # type: ignore[no-untyped-def]
        heard.append(result)
        if len(heard) == 2:
            raise KeyboardInterrupt

    with Store(tmp_path / "a.db") as store, pytest.raises(KeyboardInterrupt):
        import_files(store, paths, Config(), workers=2, on_file=interrupt_after_two)
    assert pools == [2]
    assert multiprocessing.active_children() == []
    assert not list(tmp_path.glob("agentpref-import-*"))  # no spool left behind
    assert [path for _, path, _, _ in contents(tmp_path / "a.db")["imports"]] == [str(p) for p in paths[:2]]
    with Store(tmp_path / "a.db") as store:  # running it again completes it
        report = import_files(store, paths, Config(), workers=2)
    assert [r.already_imported for r in report.files] == [True] * 2 + [False] * 18


def test_a_few_small_files_are_read_in_this_process(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(ingest, "_pool", lambda *args: started.append(args))
    with Store(tmp_path / "a.db") as store:
        report = import_files(store, mini_swe_agent_files(tmp_path, 5), Config(), workers=2)
    assert report.imported == 5 and started == []


def test_a_file_of_one_batch_is_one_transaction(tmp_path):
    """Each commit waits for the disk: rows, tasks and the record of the import commit together."""
    statements = []
    with Store(tmp_path / "a.db") as store:
        store.db.conn.set_trace_callback(statements.append)
        report = import_files(store, mini_swe_agent_files(tmp_path, 3), Config(), workers=1)
    assert report.imported == 3
    assert statements.count("COMMIT") == 3
