"""The labelling queue without a screen: skips come back last, blind mode is recorded."""

import sqlite3

import pytest

from core.schema import Decision, Preference, PreferenceSource
from storage.decision_writer import DecisionWriter
from storage.labelling import LabelSession
from tests.tui.conftest import accept_automatically, build_workspace


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_workspace(tmp_path_factory.mktemp("labelling") / "ws", rollouts=24)


@pytest.fixture
def ws(template, tmp_path):
    """A copy of a workspace with three pairs left to decide (the rest decided automatically)."""
    from storage.workspace import Workspace

    root = tmp_path / "ws"
    root.mkdir()
    (root / "agentpref.toml").write_text(template.config_path.read_text())
    source, copy = sqlite3.connect(template.db_path), sqlite3.connect(root / "agentpref.db")
    source.backup(copy)
    source.close()
    copy.close()
    ws = Workspace.open(root)
    with ws.store() as store:
        pairs = store.pairs(pending_only=True)
        assert len(pairs) > 3
        accept_automatically(store, pairs[3:])
    return ws


def queue(session: LabelSession, decisions: list[str]) -> list[int]:
    """Decide the pairs as they come, one decision each; the pair ids in the order shown."""
    shown = []
    for decision in decisions:
        pair = session.next_pending()
        assert pair is not None
        shown.append(pair.id)
        session.decide(session.show(pair), decision)
    return shown


def test_a_skipped_pair_comes_back_after_the_undecided_ones_oldest_skip_first(ws):
    with ws.store() as store:
        session = LabelSession(store)
        first, second, third = (p.id for p in store.pairs(pending_only=True))
        assert queue(session, ["skip", "skip", "both_good"]) == [first, second, third]
        progress = session.progress()
        assert (progress.skipped, progress.remaining) == (2, 2)
        assert queue(session, ["skip"]) == [first]  # the oldest skip, skipped again: now last
        assert session.next_pending().id == second
    with ws.store() as store:  # a restart: the skips are still in the queue, in the same order
        session = LabelSession(store)
        assert queue(session, ["left", "both_bad"]) == [second, first]
        assert session.next_pending() is None
        assert session.progress().skipped == 0
        decided = {p.pair_id: p.decision for p in store.preferences(PreferenceSource.HUMAN)}
    assert decided == {first: Decision.BOTH_BAD, second: Decision.PREFER, third: Decision.BOTH_GOOD}


def test_undo_of_a_decision_on_a_pair_that_was_skipped_forgets_it_whole(ws):
    with ws.store() as store:
        session = LabelSession(store)
        first, *_ = (p.id for p in store.pairs(pending_only=True))
        queue(session, ["skip", "both_good", "both_good", "left"])  # the skip came back, decided
        assert [p.pair_id for p in session.history].count(first) == 1
        assert session.undo().id == first
        assert session.next_pending().id == first  # undecided again: first in the queue
        assert store.scalar("SELECT count(*) FROM preferences WHERE pair_id = ?", [first]) == 0


def test_a_skip_still_on_its_way_to_the_database_is_offered_when_nothing_else_is_left(ws):
    with ws.store() as store:
        writer = DecisionWriter(ws.db_path)
        session = LabelSession(store, writer=writer)
        holder = sqlite3.connect(ws.db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # nothing is stored while this is held
        try:
            ids = queue(session, ["skip", "both_good", "skip"])
            assert session.next_pending().id == ids[0]  # not "every pair is decided"
            queue(session, ["left"])
            assert session.next_pending().id == ids[2]
        finally:
            holder.execute("COMMIT")
        assert writer.close(timeout_s=120)
        decided = {p.pair_id: p.decision for p in store.preferences(PreferenceSource.HUMAN)}
    assert decided == {ids[0]: Decision.PREFER, ids[1]: Decision.BOTH_GOOD, ids[2]: Decision.SKIP}


def test_a_skip_is_no_decision_for_training_and_never_hides_an_automatic_one(ws):
    with ws.store() as store:
        pair = store.pairs()[-1]  # decided automatically
        store.record_preference(Preference(pair_id=pair.id, decision=Decision.SKIP))
        effective = [p for p in store.effective_preferences() if p.pair_id == pair.id]
        assert [(p.source, p.decision) for p in effective] == [(PreferenceSource.AUTO, Decision.PREFER)]
        assert all(p.decision is not Decision.SKIP for p in store.effective_preferences())


@pytest.mark.parametrize("with_writer", [False, True])
def test_the_mode_is_recorded_with_each_decision(ws, with_writer):
    with ws.store() as store:
        writer = DecisionWriter(ws.db_path) if with_writer else None
        session = LabelSession(store, writer=writer, blind=True)
        queue(session, ["left"])
        session.blind = False
        queue(session, ["both_bad"])
        session.decide(session.show(session.next_pending()), "skip", blind=True)  # as the screen says
        if writer is not None:
            assert writer.close(timeout_s=120)
        stored = sqlite3.connect(ws.db_path).execute(
            "SELECT decision, blind FROM preferences WHERE source = 'human' ORDER BY id"
        )
        assert stored.fetchall() == [("prefer", 1), ("both_bad", 0), ("skip", 1)]
        assert [p.blind for p in store.preferences(PreferenceSource.HUMAN)] == [True, False, True]


def test_a_skipped_pair_is_still_pending_for_status_and_auto_labelling(ws):
    from storage import service

    with ws.store() as store:
        pending = store.pairs(pending_only=True)
        session = LabelSession(store)
        session.decide(session.show(pending[0]), "skip")
        assert [p.id for p in store.pairs(pending_only=True)] == [p.id for p in pending]
        assert service.status(store)["proposals_pending"] == len(pending) == 3
        assert service.auto_label(store) == 3
        assert store.pairs(pending_only=True) == []


def test_what_comes_after_the_pair_shown_is_what_the_queue_gives_once_it_is_decided(ws):
    with ws.store() as store:
        session = LabelSession(store)
        shown = session.next_pending()
        after = session.next_pending(after=shown.id)
        assert after is not None and after.id != shown.id
        session.decide(session.show(shown), "left")
        assert session.next_pending() == after


def test_progress_is_counted_again_when_another_process_decides(ws):
    with ws.store() as store, ws.store() as other:
        session = LabelSession(store)
        before = session.progress()
        assert session.progress() == before  # nothing changed: the same counts
        accept_automatically(other, [session.next_pending()])  # another connection commits
        after = session.progress()
        assert (after.done, after.remaining) == (before.done + 1, before.remaining - 1)
        session.decide(session.show(session.next_pending()), "left")  # this connection writes
        assert session.progress().done == after.done + 1
