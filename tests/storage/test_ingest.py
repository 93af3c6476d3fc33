import pytest

from core import synthetic
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
