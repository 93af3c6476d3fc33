"""Is the workspace database sound, and what can be saved when it is not.

A truncated or garbled file must be noticed when a command opens it, not after a labeller has
spent an hour on a screen whose writes fail. Opening runs SQLite's `quick_check` when the file
is small enough for it to cost little; `doctor` runs the full `integrity_check` and can copy
every readable row into a new file, never touching the original.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

QUICK_CHECK_MAX_BYTES = 64 << 20  # quick_check reads every page: cheap below this size
_ROWS_AT_ONCE = 500


class DatabaseDamaged(ValueError):
    """The workspace database cannot be read as a whole."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path, self.detail = Path(path), detail
        super().__init__(
            f"{path} is damaged ({detail}): run `agentpref-tui doctor -w {Path(path).parent}` to check it "
            "and recover what is readable into a new file"
        )


def quick_check(path: Path) -> None:
    """Raise DatabaseDamaged when SQLite's quick_check finds a problem; free for large files."""
    stat = path.stat()
    if stat.st_size <= QUICK_CHECK_MAX_BYTES:
        _quick_check(str(path), stat.st_size, stat.st_mtime_ns)


@functools.cache
def _quick_check(path: str, size: int, mtime_ns: int) -> None:
    """Once per process and file state: the TUI opens the database from many workers."""
    del size, mtime_ns  # the cache key: a changed file is checked again
    problems = _pragma_rows(Path(path), "quick_check(5)")
    if problems != ["ok"]:
        raise DatabaseDamaged(Path(path), "; ".join(problems))


def integrity_check(path: Path) -> list[str]:
    """SQLite's full check: ["ok"], or what it found (at most 100 lines)."""
    return _pragma_rows(path, "integrity_check(100)")


def open_read_only(path: Path, timeout_s: float = 5.0) -> sqlite3.Connection:
    """A connection that never writes `path`.

    A database in WAL mode needs its -shm file even to read; where that cannot be created (a
    read-only mount) the file is opened as immutable, which reads the database file alone.
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout_s)
    try:
        conn.execute("PRAGMA user_version").fetchone()  # a read: needs the -shm, not the schema
    except sqlite3.OperationalError as exc:
        conn.close()
        if "unable to open" not in str(exc):  # busy or locked: not a reason to read unguarded
            raise
        return sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    except sqlite3.DatabaseError:
        pass  # damage: the caller's reads meet it and say so
    return conn


def _pragma_rows(path: Path, pragma: str) -> list[str]:
    conn = open_read_only(path)
    try:
        return [str(row[0]) for row in conn.execute(f"PRAGMA {pragma}")]
    except sqlite3.OperationalError:  # locked or cannot open: not a verdict on the file
        raise
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()


@dataclass
class Recovery:
    """What `recover` copied: rows per table, and the tables (or ranges) it could not read."""

    copied: dict[str, int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)


def recover(source: Path, dest: Path) -> Recovery:
    """Copy every readable row of `source` into a new database at `dest`.

    The schema is read from the damaged file itself; where a table cannot be read whole, rows
    are read in rowid order and a failing stretch is stepped over, so one bad page costs the
    rows on it, not the table. `source` is opened read-only.
    """
    if dest.exists():
        raise FileExistsError(f"{dest} already exists: recovery writes a new file")
    report = Recovery()
    old = open_read_only(source)
    new = sqlite3.connect(dest)
    try:
        # The schema is read as stored, not parsed and checked as a whole: one broken entry
        # (an index whose pages were cut off) would otherwise hide every table.
        old.execute("PRAGMA writable_schema = ON")
        schema = old.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
            " ORDER BY type = 'table' DESC"
        ).fetchall()
        new.execute(f"PRAGMA user_version = {int(old.execute('PRAGMA user_version').fetchone()[0])}")
        for kind, name, sql in schema:
            if kind == "table":
                new.execute(sql)
                report.copied[name] = _copy_table(old, new, name, report)
        for kind, name, sql in schema:
            if kind != "table":
                try:
                    new.execute(sql)
                except sqlite3.DatabaseError as exc:  # e.g. a unique index over rows now missing
                    report.lost.append(f"{kind} {name}: {exc}")
        new.commit()
    finally:
        old.close()
        new.close()
    return report


def _copy_table(old: sqlite3.Connection, new: sqlite3.Connection, name: str, report: Recovery) -> int:
    quoted = '"' + name.replace('"', '""') + '"'
    try:
        rows = old.execute(f"SELECT * FROM {quoted}").fetchall()
    except sqlite3.DatabaseError:
        return _copy_by_rowid(old, new, quoted, name, report)
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        new.executemany(f"INSERT OR IGNORE INTO {quoted} VALUES ({marks})", rows)
    return len(rows)


def _copy_by_rowid(
    old: sqlite3.Connection, new: sqlite3.Connection, quoted: str, name: str, report: Recovery
) -> int:
    """Rows a stretch at a time (by rowid, or by position in a WITHOUT ROWID table); a stretch
    that fails is read one row at a time, and a row that fails is skipped and recorded."""
    try:
        end = (old.execute(f"SELECT max(rowid) FROM {quoted}").fetchone()[0] or 0) + 1
        stretch = f"SELECT * FROM {quoted} WHERE rowid >= ? AND rowid < ?"
        where = "row"
    except sqlite3.OperationalError:  # no rowid: read by position instead
        try:
            end = old.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            report.lost.append(f"table {name}: unreadable ({exc})")
            return 0
        stretch = f"SELECT * FROM (SELECT * FROM {quoted} LIMIT -1 OFFSET ?) LIMIT ? - ?"
        where = "row at position"
    except sqlite3.DatabaseError as exc:
        report.lost.append(f"table {name}: unreadable ({exc})")
        return 0

    def read(start: int, stop: int) -> list[tuple]:
        params = [start, stop] if where == "row" else [start, stop, start]
        return old.execute(stretch, params).fetchall()

    copied = 0
    for start in range(0, end, _ROWS_AT_ONCE):
        stop = min(start + _ROWS_AT_ONCE, end)
        try:
            batch = read(start, stop)
        except sqlite3.DatabaseError:
            batch = []
            for one in range(start, stop):
                try:
                    batch += read(one, one + 1)
                except sqlite3.DatabaseError:
                    report.lost.append(f"table {name}: {where} {one}")
        if batch:
            marks = ", ".join("?" * len(batch[0]))
            new.executemany(f"INSERT OR IGNORE INTO {quoted} VALUES ({marks})", batch)
            copied += len(batch)
    return copied
