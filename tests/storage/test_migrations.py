import sqlite3

import pytest
from sqlite_utils import Database

from storage.migrations import LATEST, MIGRATIONS, SchemaError, migrate, version
from storage.store import Store


def test_fresh_database_reaches_latest(tmp_path):
    db = Database(sqlite3.connect(tmp_path / "a.db"))
    assert migrate(db) == LATEST == len(MIGRATIONS)
    assert {"tasks", "rollouts", "flags", "pairs", "preferences", "runs", "evals"} <= set(db.table_names())


@pytest.mark.parametrize("start", range(1, LATEST))
def test_every_earlier_version_migrates_with_its_data(tmp_path, start):
    path = tmp_path / "old.db"
    db = Database(sqlite3.connect(path))
    migrate(db, target=start)
    assert version(db) == start
    db.execute("INSERT INTO tasks (id, instruction) VALUES ('t1', 'fix it')")
    db.execute(
        "INSERT INTO rollouts (id, task_id, n_steps, score, created_at) VALUES ('r1', 't1', 3, 2.5, 'now')"
    )
    db.close()

    with Store(path) as store:  # opening migrates
        assert version(store.db) == LATEST
        assert store.scalar("SELECT instruction FROM tasks WHERE id = 't1'") == "fix it"
        assert store.scalar("SELECT score FROM rollouts WHERE id = 'r1'") == 2.5


def test_migration_is_idempotent(tmp_path):
    db = Database(sqlite3.connect(tmp_path / "a.db"))
    migrate(db)
    assert migrate(db) == LATEST


def test_database_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(SchemaError, match="newer than this agentpref"):
        Store(path)


def test_store_uses_wal_and_a_busy_timeout(store):
    assert store.scalar("PRAGMA journal_mode") == "wal"
    assert store.scalar("PRAGMA busy_timeout") >= 10_000


def test_repository_paths_an_import_stored_are_dropped_and_the_workspaces_own_kept(tmp_path):
    path = tmp_path / "old.db"
    db = Database(sqlite3.connect(path))
    migrate(db, target=5)
    db.execute(
        "INSERT INTO tasks (id, repo_path, reference_dir, test_command, candidates) VALUES "
        "('evil', '/tmp/evil', '/etc', 'env > out', '[{\"name\": \"x\"}]'), "
        "('own', 'tasks/own/repo', 'tasks/own/reference', 'pytest', '[]'), "
        "('half', 'tasks/half/repo', '/etc', 'pytest', '[]')"
    )
    db.close()
    with Store(path) as store:
        rows = {r["id"]: r for r in store.db.query("SELECT * FROM tasks")}
    kept = {t: (r["repo_path"], r["reference_dir"], r["candidates"]) for t, r in rows.items()}
    assert kept["evil"] == (None, None, "[]")
    assert rows["evil"]["test_command"] == "env > out"  # a description, shown, never run
    assert kept["own"] == ("tasks/own/repo", "tasks/own/reference", "[]")
    assert kept["half"] == ("tasks/half/repo", None, "[]")


def test_decisions_made_before_blind_mode_existed_read_as_not_blind(tmp_path):
    from core.schema import PreferenceSource

    path = tmp_path / "old.db"
    db = Database(sqlite3.connect(path))
    migrate(db, target=7)
    db.execute("INSERT INTO tasks (id) VALUES ('t1')")
    for rollout_id in ("a", "b"):
        db.execute(
            "INSERT INTO rollouts (id, task_id, n_steps, score, created_at) VALUES (?, 't1', 1, 0, 'now')",
            [rollout_id],
        )
    db.execute(
        "INSERT INTO pairs (id, task_id, chosen_id, rejected_id, pair_key, score_gap, reason, mined_at)"
        " VALUES (1, 't1', 'a', 'b', 'a|b', 1, 'r', 'now')"
    )
    db.execute(
        "INSERT INTO preferences (pair_id, source, decision, chosen_id, created_at)"
        " VALUES (1, 'human', 'prefer', 'a', '2025-01-01T00:00:00')"
    )
    db.close()
    with Store(path) as store:
        (pref,) = store.preferences(PreferenceSource.HUMAN)
        assert pref.blind is False and pref.chosen_id == "a"
        store.record_preference(pref.model_copy(update={"blind": True}))
        assert store.scalar("SELECT blind FROM preferences WHERE pair_id = 1") == 1


def test_decisions_made_before_annotators_existed_are_kept_unnamed_and_others_can_join(tmp_path):
    from core.schema import Decision, Preference, PreferenceSource

    path = tmp_path / "old.db"
    db = Database(sqlite3.connect(path))
    migrate(db, target=8)
    db.execute("INSERT INTO tasks (id) VALUES ('t1')")
    for rollout_id in ("a", "b"):
        db.execute(
            "INSERT INTO rollouts (id, task_id, n_steps, score, created_at) VALUES (?, 't1', 1, 0, 'now')",
            [rollout_id],
        )
    db.execute(
        "INSERT INTO pairs (id, task_id, chosen_id, rejected_id, pair_key, score_gap, reason, mined_at)"
        " VALUES (1, 't1', 'a', 'b', 'a|b', 1, 'r', 'now')"
    )
    db.execute(
        "INSERT INTO preferences (id, pair_id, source, decision, chosen_id, labeler, note, blind, created_at)"
        " VALUES (7, 1, 'human', 'prefer', 'b', 'human', 'n', 1, '2025-01-01T00:00:00'),"
        " (8, 1, 'auto', 'prefer', 'a', 'checks', '', 0, '2025-01-01T00:00:00'),"
        " (9, 42, 'human', 'skip', NULL, 'human', '', 0, '2025-01-01T00:00:00')"  # its pair is gone
    )
    db.close()
    with Store(path) as store:
        old, auto = store.preferences()
        assert (old.id, old.annotator, old.adjudicated, old.chosen_id, old.note, old.blind) == (
            7,
            "",
            False,
            "b",
            "n",
            True,
        )
        assert (auto.id, auto.source, auto.annotator) == (8, PreferenceSource.AUTO, "")
        store.record_preference(Preference(pair_id=1, decision=Decision.BOTH_BAD, annotator="ann"))
        assert [(p.annotator, p.decision) for p in store.preferences(PreferenceSource.HUMAN)] == [
            ("", Decision.PREFER),
            ("ann", Decision.BOTH_BAD),
        ]
