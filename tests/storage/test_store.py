import sqlite3

import pytest

from core.schema import Candidate, CandidateKind, Decision, Pair, Preference, PreferenceSource, Task
from storage import rows
from tests.conftest import make_rollout


def insert(store, *rollouts):
    batch = [rows.prepared(r, rows.compress(rows.STEPS.dump_json(r.steps)), 0) for r in rollouts]
    return store.insert_rollouts(batch)


def test_rollout_round_trip_keeps_steps_flags_and_source(store):
    r = make_rollout("r1", flags=["tests.never_run"])
    r.source.path, r.source.format, r.source.record = "x.jsonl", "native", 7
    assert insert(store, r) == 1
    back = store.rollout("r1")
    assert back is not None
    assert [s.tool_call.arguments["command"] for s in back.steps] == ["cat a.py", "pytest"]
    assert back.steps[0].action.kind == "read"  # classified on load
    assert back.flag_ids == ["tests.never_run"]
    assert (back.source.path, back.source.record) == ("x.jsonl", 7)


def test_one_steps_tool_call_is_read_alone(store):
    insert(store, make_rollout("r1"))
    assert store.tool_call("r1", 1) == store.rollout("r1").steps[1].tool_call
    assert store.tool_call("r1", 2) is None and store.tool_call("nope", 0) is None


def test_inserting_an_existing_rollout_adds_nothing(store):
    assert insert(store, make_rollout("r1")) == 1
    assert insert(store, make_rollout("r1"), make_rollout("r2")) == 1
    assert store.scalar("SELECT count(*) FROM rollouts") == 2


def test_nul_bytes_and_escapes_survive_storage(store):
    r = make_rollout("r1", calls=[("cat x", "a\x1b[31mred\x1b[0m\u2400b")])
    insert(store, r)
    assert store.rollout("r1").steps[0].observation.content == "a\x1b[31mred\x1b[0m\u2400b"


def _pairs(store):
    insert(store, make_rollout("a", score=0), make_rollout("b", score=2), make_rollout("c", score=5))
    return [
        Pair(task_id="t1", chosen_id="a", rejected_id="b", score_gap=2, reason="B x"),
        Pair(task_id="t1", chosen_id="a", rejected_id="c", score_gap=5, reason="B y"),
    ]


def test_remining_keeps_decided_pairs_and_drops_stale_undecided(store):
    pairs = _pairs(store)
    assert store.replace_proposals(pairs) == (2, 0)
    decided = store.pairs()[0]
    store.record_preference(Preference(pair_id=decided.id, decision=Decision.SKIP))
    # The new mining result has neither old pair, but reverses one of them.
    fresh = [Pair(task_id="t1", chosen_id="c", rejected_id="b", score_gap=1, reason="B z")]
    added, dropped = store.replace_proposals(fresh)
    assert (added, dropped) == (1, 1)
    ids = {p.id for p in store.pairs()}
    assert decided.id in ids
    # Same two rollouts in the other orientation are the same pair.
    assert store.replace_proposals(
        [Pair(task_id="t1", chosen_id="b", rejected_id="c", score_gap=1, reason="")]
    ) == (0, 0)


def test_preference_is_committed_at_once(store, tmp_path):
    store.replace_proposals(_pairs(store))
    pair = store.pairs()[0]
    store.record_preference(
        Preference(
            pair_id=pair.id,
            decision=Decision.PREFER,
            chosen_id=pair.rejected_id,
            tags=["1"],
            note="looks wrong",
        )
    )
    other = sqlite3.connect(store.path)  # another process's view
    assert other.execute("SELECT decision, chosen_id, note FROM preferences").fetchall() == [
        ("prefer", pair.rejected_id, "looks wrong")
    ]


def test_human_decision_wins_over_auto(store):
    store.replace_proposals(_pairs(store))
    pair = store.pairs()[0]
    store.record_preference(
        Preference(
            pair_id=pair.id, decision=Decision.PREFER, chosen_id=pair.chosen_id, source=PreferenceSource.AUTO
        )
    )
    store.record_preference(Preference(pair_id=pair.id, decision=Decision.BOTH_BAD))
    effective = [p for p in store.effective_preferences() if p.pair_id == pair.id]
    assert [(p.source, p.decision) for p in effective] == [(PreferenceSource.HUMAN, Decision.BOTH_BAD)]
    assert store.remove_preference(pair.id) is True
    effective = [p for p in store.effective_preferences() if p.pair_id == pair.id]
    assert [p.source for p in effective] == [PreferenceSource.AUTO]


def test_preference_validation(store):
    store.replace_proposals(_pairs(store))
    pair = store.pairs()[0]
    with pytest.raises(ValueError, match="names its chosen"):
        store.record_preference(Preference(pair_id=pair.id, decision=Decision.PREFER))
    with pytest.raises(ValueError, match="not part of pair"):
        store.record_preference(Preference(pair_id=pair.id, decision=Decision.PREFER, chosen_id="zzz"))
    with pytest.raises(ValueError, match="no pair"):
        store.record_preference(Preference(pair_id=999, decision=Decision.SKIP))


def test_tasks_upsert_and_placeholders(store):
    store.ensure_tasks(["t1", "t2"])
    candidate = Candidate(name="fix", kind=CandidateKind.RIGHT, path="a.py", old="1", new="2")
    task = Task(
        id="t1", instruction="fix", allowed_globs=["src/**"], candidates=[candidate], test_timeout_s=5
    )
    store.upsert_task(task)
    store.ensure_tasks(["t1"])
    assert [t.id for t in store.tasks()] == ["t1", "t2"]
    assert store.task("t1") == task


def test_remining_turns_an_undecided_pair_around_but_not_a_decided_one(store):
    pairs = _pairs(store)
    store.replace_proposals(pairs)
    flipped = [
        Pair(task_id="t1", chosen_id=p.rejected_id, rejected_id=p.chosen_id, score_gap=3, reason="new")
        for p in pairs
    ]
    decided = store.pairs()[0]
    store.record_preference(Preference(pair_id=decided.id, decision=Decision.SKIP))
    store.replace_proposals(flipped)
    after = {p.id: p for p in store.pairs()}
    assert (after[decided.id].chosen_id, after[decided.id].reason) == (decided.chosen_id, decided.reason)
    other = next(p for p in after.values() if p.id != decided.id)
    assert (other.chosen_id, other.score_gap, other.reason) == ("c", 3, "new")


def test_a_second_writer_waits_for_the_lock_instead_of_failing(store):
    import threading

    from storage.store import Store

    store.replace_proposals(_pairs(store))
    pair = store.pairs()[0]
    release, holding = threading.Event(), threading.Event()

    def hold_lock():
        with Store(store.path) as other, other.write():
            other.db.execute("UPDATE pairs SET reason = 'held' WHERE id = ?", [pair.id])
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert holding.wait(5)
    threading.Timer(0.5, release.set).start()
    store.record_preference(Preference(pair_id=pair.id, decision=Decision.BOTH_GOOD))  # waits, then commits
    holder.join()
    assert store.preferences()[0].decision is Decision.BOTH_GOOD
    assert store.pair(pair.id).reason == "held"  # the other writer's change committed first
