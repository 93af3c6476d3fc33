"""A damaged database is named when it is opened, checked in full by `doctor`, and what is
readable of it is copied into a new file."""

import os
import sqlite3

import pytest

from bench import synthetic
from core.config import Config
from storage.health import DatabaseDamaged, integrity_check, quick_check, recover
from storage.ingest import import_files
from storage.store import Store

PAGE = 4096


@pytest.fixture
def full_db(tmp_path):
    """A real workspace database with a few hundred imported rollouts, closed."""
    path = tmp_path / "agentpref.db"
    with Store(path) as store:
        import_files(store, [synthetic.write_jsonl(tmp_path / "r.jsonl", 300, seed=2)], Config())
    return path


def garble_page(path, number):
    with path.open("r+b") as handle:
        handle.seek(PAGE * number)
        handle.write(os.urandom(PAGE))


def test_a_sound_database_passes_both_checks(full_db):
    quick_check(full_db)
    assert integrity_check(full_db) == ["ok"]


def test_one_garbled_page_is_found_on_open_and_recovery_keeps_every_other_row(full_db, tmp_path):
    before = sqlite3.connect(full_db).execute("SELECT count(*) FROM rollouts").fetchone()[0]
    pages = full_db.stat().st_size // PAGE
    garble_page(full_db, pages // 2)
    original = full_db.read_bytes()
    with pytest.raises(DatabaseDamaged, match=r"agentpref\.db is damaged .*agentpref-tui doctor"):
        quick_check(full_db)
    assert integrity_check(full_db) != ["ok"]

    report = recover(full_db, tmp_path / "recovered.db")
    assert full_db.read_bytes() == original  # never touched
    lost_rows = sum(report.copied.values())
    assert report.copied["rollouts"] + report.copied["rollout_bodies"] >= 2 * before - 40
    assert lost_rows > 0
    with Store(tmp_path / "recovered.db") as store:  # opens, at the latest schema, and reads
        assert store.scalar("SELECT count(*) FROM tasks") == report.copied["tasks"]
    assert integrity_check(tmp_path / "recovered.db") == ["ok"]


def test_a_truncated_file_is_refused_with_its_path_and_recovery_says_what_it_lost(full_db, tmp_path):
    with full_db.open("r+b") as handle:
        handle.truncate(full_db.stat().st_size // 2)
    with pytest.raises(DatabaseDamaged, match=str(full_db)):
        quick_check(full_db)
    report = recover(full_db, tmp_path / "recovered.db")
    assert report.copied["tasks"] > 0 and report.lost


def test_recovery_never_overwrites_a_file(full_db, tmp_path):
    (tmp_path / "there.db").write_text("mine")
    with pytest.raises(FileExistsError):
        recover(full_db, tmp_path / "there.db")
    assert (tmp_path / "there.db").read_text() == "mine"


def test_a_file_that_is_not_a_database_is_damage_not_a_traceback(tmp_path):
    path = tmp_path / "agentpref.db"
    path.write_bytes(b"not a database at all" * 500)
    with pytest.raises(DatabaseDamaged, match="file is not a database"):
        Store(path)
