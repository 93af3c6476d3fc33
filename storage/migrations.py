"""The database schema as a forward-only list of migrations, versioned by PRAGMA user_version.

Migration N takes a database at version N-1 to version N. Never edit a released migration:
add a new one, and a test builds a database at every earlier version and migrates it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database


class SchemaError(RuntimeError):
    """The database was written by a newer agentpref than this one."""


MIGRATIONS: list[str] = [
    # 1: rollouts, their flags and where they came from.
    """
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        instruction TEXT NOT NULL DEFAULT '',
        test_command TEXT NOT NULL DEFAULT '',
        allowed_globs TEXT NOT NULL DEFAULT '[]',
        diff_budget INTEGER,
        step_limit INTEGER,
        split TEXT NOT NULL DEFAULT 'train',
        repo_path TEXT
    );
    CREATE TABLE imports (
        hash TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        format TEXT NOT NULL,
        rollouts INTEGER NOT NULL,
        imported_at TEXT NOT NULL
    );
    CREATE TABLE rollouts (
        id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        policy TEXT NOT NULL DEFAULT '',
        seed INTEGER,
        source_path TEXT NOT NULL DEFAULT '',
        source_format TEXT NOT NULL DEFAULT '',
        source_record INTEGER NOT NULL DEFAULT 0,
        started_at TEXT,
        duration_s REAL,
        tokens_in INTEGER,
        tokens_out INTEGER,
        n_steps INTEGER NOT NULL,
        exit_status TEXT NOT NULL DEFAULT '',
        tests_passed INTEGER,
        diff_lines INTEGER NOT NULL DEFAULT 0,
        score REAL NOT NULL,
        flags TEXT NOT NULL DEFAULT '',
        eval_id TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX rollouts_by_task ON rollouts (task_id, score);
    CREATE INDEX rollouts_by_eval ON rollouts (eval_id);
    CREATE TABLE rollout_bodies (
        rollout_id TEXT PRIMARY KEY REFERENCES rollouts (id) ON DELETE CASCADE,
        steps BLOB NOT NULL,
        final_diff TEXT NOT NULL DEFAULT '',
        task TEXT
    );
    CREATE TABLE flags (
        rollout_id TEXT NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
        check_id TEXT NOT NULL,
        weight REAL NOT NULL,
        message TEXT NOT NULL,
        steps TEXT NOT NULL DEFAULT '[]',
        heuristic INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (rollout_id, check_id)
    ) WITHOUT ROWID;
    CREATE INDEX flags_by_check ON flags (check_id, rollout_id);
    """,
    # 2: proposals, human and automatic decisions, training runs and evaluations.
    """
    CREATE TABLE pairs (
        id INTEGER PRIMARY KEY,
        task_id TEXT NOT NULL,
        chosen_id TEXT NOT NULL REFERENCES rollouts (id),
        rejected_id TEXT NOT NULL REFERENCES rollouts (id),
        pair_key TEXT NOT NULL UNIQUE,
        score_gap REAL NOT NULL,
        reason TEXT NOT NULL,
        differing_flags TEXT NOT NULL DEFAULT '[]',
        mined_at TEXT NOT NULL
    );
    CREATE INDEX pairs_by_task ON pairs (task_id);
    CREATE TABLE preferences (
        id INTEGER PRIMARY KEY,
        pair_id INTEGER NOT NULL REFERENCES pairs (id),
        source TEXT NOT NULL CHECK (source IN ('human', 'auto')),
        decision TEXT NOT NULL CHECK (decision IN ('prefer', 'both_good', 'both_bad', 'skip')),
        chosen_id TEXT,
        labeler TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        note TEXT NOT NULL DEFAULT '',
        left_id TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (pair_id, source)
    );
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        pid INTEGER,
        heartbeat TEXT,
        created_at TEXT NOT NULL,
        config TEXT NOT NULL DEFAULT '{}',
        adapter_path TEXT,
        final_metrics TEXT NOT NULL DEFAULT '{}',
        error TEXT
    );
    CREATE TABLE evals (
        id TEXT PRIMARY KEY,
        run_id TEXT REFERENCES runs (id),
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        result TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # 3: tasks the harness runs: a test timeout, candidate patches, a reference fix.
    """
    ALTER TABLE tasks ADD COLUMN test_timeout_s REAL NOT NULL DEFAULT 30;
    ALTER TABLE tasks ADD COLUMN candidates TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE tasks ADD COLUMN reference_dir TEXT;
    CREATE INDEX tasks_by_split ON tasks (split, id);
    """,
    # 4: background jobs (training runs, evaluations) report progress, and runs log metrics.
    """
    ALTER TABLE runs ADD COLUMN stage TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN step INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN max_steps INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN dataset TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE runs ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE runs ADD COLUMN log_path TEXT;
    ALTER TABLE runs ADD COLUMN finished_at TEXT;
    CREATE TABLE run_metrics (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        epoch REAL,
        split TEXT NOT NULL DEFAULT 'train',
        name TEXT NOT NULL,
        value REAL NOT NULL,
        logged_at TEXT NOT NULL
    );
    CREATE INDEX run_metrics_by_run ON run_metrics (run_id, name, step);
    ALTER TABLE evals ADD COLUMN pid INTEGER;
    ALTER TABLE evals ADD COLUMN heartbeat TEXT;
    ALTER TABLE evals ADD COLUMN stage TEXT NOT NULL DEFAULT '';
    ALTER TABLE evals ADD COLUMN done INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE evals ADD COLUMN total INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE evals ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE evals ADD COLUMN log_path TEXT;
    ALTER TABLE evals ADD COLUMN error TEXT;
    ALTER TABLE evals ADD COLUMN finished_at TEXT
    """,
    # 5: where a lesson lives. Branched rollouts name their parent and the step they left it at;
    # the final outcome on the task's own tests sits beside the one in the agent's worktree;
    # step_keys fingerprints each step so mining finds shared prefixes without reading bodies;
    # a pair records its kind (branch, anchored, rollout) and the step its lesson is at.
    """
    ALTER TABLE rollouts ADD COLUMN parent_id TEXT;
    ALTER TABLE rollouts ADD COLUMN branch_step INTEGER;
    ALTER TABLE rollouts ADD COLUMN tests_passed_own INTEGER;
    ALTER TABLE rollouts ADD COLUMN step_keys TEXT;
    CREATE INDEX rollouts_by_parent ON rollouts (parent_id);
    ALTER TABLE flags ADD COLUMN anchor INTEGER;
    ALTER TABLE pairs ADD COLUMN kind TEXT NOT NULL DEFAULT 'rollout';
    ALTER TABLE pairs ADD COLUMN step INTEGER
    """,
    # 6: imported data is inert. Imports before this one stored a task's repository and
    # reference paths as their file said; only the workspace's own folder for a task is kept.
    """
    UPDATE tasks SET repo_path = NULL, reference_dir = NULL, candidates = '[]'
        WHERE repo_path IS NOT NULL AND repo_path != 'tasks/' || id || '/repo';
    UPDATE tasks SET reference_dir = NULL
        WHERE reference_dir IS NOT NULL AND reference_dir != 'tasks/' || id || '/reference'
    """,
    # 7: a job's process is its pid and its start time, so a reused pid is not taken for it.
    """
    ALTER TABLE runs ADD COLUMN pid_start TEXT;
    ALTER TABLE evals ADD COLUMN pid_start TEXT
    """,
    # 8: a human decision says whether it was made blind: the scores, the checks' reason and the
    # badges hidden, so the label is independent of the checks. Earlier decisions were not.
    """
    ALTER TABLE preferences ADD COLUMN blind INTEGER NOT NULL DEFAULT 0
    """,
    # 9: several annotators. A human decision names who made it ('' before names were kept, and
    # for automatic ones); each annotator has their own decision on a pair, and an adjudicated
    # one (settling a disagreement) sits beside the votes. SQLite cannot drop the old
    # UNIQUE (pair_id, source), so the table is rebuilt; a decision whose pair is gone (possible
    # only where foreign keys were off) has nothing to decide and is not carried over.
    """
    CREATE TABLE preferences_v9 (
        id INTEGER PRIMARY KEY,
        pair_id INTEGER NOT NULL REFERENCES pairs (id),
        source TEXT NOT NULL CHECK (source IN ('human', 'auto')),
        decision TEXT NOT NULL CHECK (decision IN ('prefer', 'both_good', 'both_bad', 'skip')),
        chosen_id TEXT,
        labeler TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        note TEXT NOT NULL DEFAULT '',
        left_id TEXT,
        created_at TEXT NOT NULL,
        blind INTEGER NOT NULL DEFAULT 0,
        annotator TEXT NOT NULL DEFAULT '',
        adjudicated INTEGER NOT NULL DEFAULT 0,
        UNIQUE (pair_id, source, annotator, adjudicated)
    );
    INSERT INTO preferences_v9 (id, pair_id, source, decision, chosen_id, labeler, tags, note, left_id,
        created_at, blind)
        SELECT id, pair_id, source, decision, chosen_id, labeler, tags, note, left_id, created_at, blind
        FROM preferences WHERE pair_id IN (SELECT id FROM pairs);
    DROP TABLE preferences;
    ALTER TABLE preferences_v9 RENAME TO preferences;
    CREATE INDEX preferences_by_annotator ON preferences (annotator, source, pair_id)
    """,
]

LATEST = len(MIGRATIONS)


@contextmanager
def write_transaction(db: Database) -> Iterator[None]:
    """A transaction that takes the write lock up front (BEGIN IMMEDIATE).

    A plain BEGIN that reads and then writes fails at once with "database is locked" when
    another process committed in between; IMMEDIATE waits for the busy timeout instead, so
    the TUI, a rollout and a training run can share the file. Nested use is a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: Database, target: int = LATEST) -> int:
    """Bring `db` to `target`, one transaction per migration; return the version reached."""
    current = version(db)
    if current > LATEST:
        raise SchemaError(
            f"the database is at schema version {current}, newer than this agentpref "
            f"(knows up to {LATEST}): upgrade agentpref-tui"
        )
    for number in range(current + 1, target + 1):
        with write_transaction(db):
            if version(db) >= number:  # another process migrated while we waited for the lock
                continue
            for statement in MIGRATIONS[number - 1].split(";\n"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")
    return version(db)
