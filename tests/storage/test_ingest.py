import pytest

from bench import synthetic
from core.config import Config
from storage import ingest
from storage.ingest import import_files


def stored(store):
    return store.db.execute(
        "SELECT id, task_id, score, flags, source_record FROM rollouts ORDER BY id"
    ).fetchall()


def test_parallel_import_stores_exactly_what_a_serial_one_does(tmp_path, monkeypatch):
    from storage.store import Store

    data = synthetic.write_jsonl(tmp_path / "r.jsonl", 450, seed=5)
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
    with Store(tmp_path / "serial.db") as serial, Store(tmp_path / "parallel.db") as parallel:
        import_files(serial, [data], Config(), workers=1)
        report = import_files(parallel, [data], Config(), workers=2)
        assert report.imported == 450
        assert stored(serial) == stored(parallel)
        assert len(stored(serial)) == 450


def test_a_broken_line_deep_in_a_parallel_import_stores_nothing(tmp_path, monkeypatch, store):
    data = synthetic.write_jsonl(tmp_path / "r.jsonl", 450, seed=5)
    lines = data.read_text().splitlines()
    lines[401] = lines[401].replace('"steps": [', '"steps": 7, "x": [', 1)
    data.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
    report = import_files(store, [data], Config(), workers=2)
    assert report.imported == 0
    assert "record 402" in report.failed[0].error
    assert store.scalar("SELECT count(*) FROM rollouts") == 0
    assert store.scalar("SELECT count(*) FROM imports") == 0


def test_embedded_task_fills_a_placeholder_but_never_overrides_a_real_task(tmp_path, store):
    from core.schema import Task

    store.upsert_task(Task(id="synth-0000", instruction="mine", allowed_globs=["lib/**"]))
    store.ensure_tasks(["synth-0001"])
    data = synthetic.write_jsonl(tmp_path / "r.jsonl", 16, seed=2)
    import_files(store, [data], Config())
    assert store.task("synth-0000").allowed_globs == ["lib/**"]
    assert store.task("synth-0001").allowed_globs == ["src/**"]  # the placeholder got the embedded task


def test_huge_observation_is_cut_with_a_warning(tmp_path, store):
    import json

    record = next(synthetic.records(1, seed=1))
    record["steps"][0]["observation"]["content"] = "A" * 3_000_000
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps(record) + "\n")
    config = Config.model_validate({"import": {"max_observation_bytes": 50_000}})
    report = import_files(store, [path], config)
    assert report.imported == 1
    assert "record 1, step 0: observation cut by" in report.files[0].warnings[0]
    rollout = store.rollout(store.scalar("SELECT id FROM rollouts"))
    assert len(rollout.steps[0].observation.content) < 60_000


@pytest.mark.parametrize("weights", [{}, {"tests.never_run": 50.0}])
def test_scores_are_weighted_sums_of_the_config(tmp_path, store, weights):
    data = synthetic.write_jsonl(tmp_path / "r.jsonl", 40, seed=4)
    config = Config.model_validate({"checks": {"weights": weights}})
    import_files(store, [data], config)
    for rollout_id, score in store.db.execute("SELECT id, score FROM rollouts"):
        expected = sum(config.checks.weight(f.check) for f in store.flags_of(rollout_id))
        assert score == pytest.approx(expected)


def _native(tmp_path, name, edit):
    import json

    record = next(synthetic.records(1, seed=4))
    edit(record)
    path = tmp_path / name
    path.write_text(json.dumps(record) + "\n")
    return path


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda r: r.update(tokens_in=2**64), "tokens_in"),
        (lambda r: r.update(seed=2**63), "seed"),
        (lambda r: r["steps"][0].update(tokens_out=-(2**70)), "steps.0.tokens_out"),
        (lambda r: r["steps"][0]["observation"].update(exit_code=2**63), "steps.0.observation.exit_code"),
        (lambda r: r.update(duration_s=float("inf")), "duration_s"),
    ],
)
def test_numbers_sqlite_cannot_hold_are_refused_with_the_field_and_later_files_still_import(
    tmp_path, store, edit, field
):
    bad = _native(tmp_path, "bad.jsonl", edit)
    good = synthetic.write_jsonl(tmp_path / "good.jsonl", 3, seed=3)
    report = import_files(store, [bad, good], Config())
    assert [f.path for f in report.failed] == [str(bad)]
    assert f"{bad}, record 1: {field}:" in report.failed[0].error
    assert report.imported == 3 and store.scalar("SELECT count(*) FROM rollouts") == 3


def test_a_number_of_thousands_of_digits_is_a_format_error_in_every_reader(tmp_path, store):
    digits = "9" * 5000
    native_text = synthetic.write_jsonl(tmp_path / "n.jsonl", 1, seed=3).read_text()
    huge_native = tmp_path / "huge_native.jsonl"
    huge_native.write_text(native_text.replace('"seed": ', f'"seed": {digits}, "x": ', 1))
    huge_chat = tmp_path / "huge_chat.jsonl"
    huge_chat.write_text('{"messages": [{"role": "user", "content": "hi"}], "n": ' + digits + "}\n")
    report = import_files(store, [huge_native, huge_chat], Config())
    errors = [f.error for f in report.failed]
    assert errors[0].startswith(f"{huge_native}, record 1: ")
    too_long = "a number of over 4,300 digits (no trajectory field holds one)"
    assert errors[1] == f"{huge_chat}, record 1: {too_long}"


def test_an_oversized_informational_count_in_another_harness_is_dropped_not_fatal(tmp_path, store):
    import json

    record = {
        "messages": [
            {"role": "user", "content": "fix it"},
            {"role": "assistant", "content": "done", "usage": {"prompt_tokens": 2**64}},
        ]
    }
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps(record) + "\n")
    report = import_files(store, [path], Config(), fmt="openai")
    assert report.imported == 1, [f.error for f in report.failed]
    assert store.scalar("SELECT tokens_in FROM rollouts") is None


def test_folders_fifos_loops_and_dangling_links_each_get_their_own_message(tmp_path, store):
    import os

    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    (tmp_path / "dangling").symlink_to(tmp_path / "nothing")
    names = ["folder", "fifo", "loop_a", "dangling", "missing"]
    report = import_files(store, [tmp_path / n for n in names], Config())
    errors = [f.error.removeprefix(f"{tmp_path}/") for f in report.failed]
    assert errors == [
        "folder: a folder, not a file (name the files in it, e.g. " + f"{tmp_path}/folder/*.jsonl)",
        "fifo: a FIFO, not a regular file",
        "loop_a: a loop of symbolic links, not a file",
        "dangling: a symbolic link to nothing",
        "missing: no such file",
    ]


def test_a_whole_document_error_names_the_line_not_a_record(tmp_path, store):
    path = tmp_path / "run.traj"
    path.write_text('{\n  "trajectory": [\n    {"action": "ls",}\n  ]\n}\n')
    report = import_files(store, [path], Config(), fmt="swe-agent")
    assert report.failed[0].error.startswith(f"{path}, line 3: invalid JSON at column")


def test_an_import_writes_a_batch_per_transaction_after_checking_the_whole_file(tmp_path, monkeypatch):
    """Each batch is its own short transaction, committed before the next begins (another
    connection sees it), and the file counts as imported only after its last batch."""
    import sqlite3

    from storage.store import Store

    data = synthetic.write_jsonl(tmp_path / "r.jsonl", 600, seed=6)
    monkeypatch.setattr(ingest, "BATCH", 20)
    seen = []
    insert = Store.insert_rollouts

    def watched(self, batch):  # type: ignore[no-untyped-def]
        assert not self.db.conn.in_transaction  # not inside a transaction spanning the file
        other = sqlite3.connect(self.path)
        seen.append(
            other.execute("SELECT (SELECT count(*) FROM rollouts), (SELECT count(*) FROM imports)").fetchone()
        )
        other.close()
        return insert(self, batch)

    monkeypatch.setattr(Store, "insert_rollouts", watched)
    with Store(tmp_path / "a.db") as store:
        import_files(store, [data], Config(), workers=1)
        assert store.scalar("SELECT count(*) FROM imports") == 1
    assert seen == [(20 * k, 0) for k in range(30)]  # every earlier batch already committed
