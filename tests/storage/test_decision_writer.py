"""Decisions handed to the writer: pending while the lock is held, stored in order after,
refused with a reason when their pair is gone, and durable once reported stored."""

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from core.schema import Decision, Preference, PreferenceSource
from storage.decision_writer import DecisionWriter
from storage.labelling import LabelSession
from tests.conftest import wait_for
from tests.tui.conftest import build_workspace


@pytest.fixture
def ws(tmp_path):
    return build_workspace(tmp_path / "ws")


def stored(ws):
    return sqlite3.connect(ws.db_path).execute("SELECT pair_id, decision FROM preferences").fetchall()


def test_decisions_made_while_another_process_holds_the_lock_wait_then_are_all_stored(ws):
    outcomes = []
    with ws.store() as store:
        writer = DecisionWriter(ws.db_path, outcomes.append)
        session = LabelSession(store, writer=writer)
        holder = sqlite3.connect(ws.db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # an import's long transaction
        decided = []
        for decision in ("left", "right", "both_bad"):
            shown = session.show(session.next_pending())
            session.decide(shown, decision)  # returns although the lock is held
            decided.append(shown.pair.id)
        assert len(set(decided)) == 3  # a pending pair is never offered again
        assert session.progress().pending == 3 and stored(ws) == []
        wait_for(lambda: writer.retries > 0, "the writer never met the lock")
        holder.execute("COMMIT")
        assert writer.close(timeout_s=120)
    assert sorted(p for p, _ in stored(ws)) == sorted(decided)
    assert [o.stored for o in outcomes] == [True, True, True] and outcomes[0].waited


def test_an_undo_of_a_pending_decision_runs_after_it(ws):
    with ws.store() as store:
        writer = DecisionWriter(ws.db_path)
        session = LabelSession(store, writer=writer)
        holder = sqlite3.connect(ws.db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        first = session.show(session.next_pending())
        session.decide(first, "left")
        assert session.undo().id == first.pair.id
        session.decide(session.show(first.pair), "right")
        holder.execute("COMMIT")
        assert writer.close(timeout_s=120)
        (pref,) = store.preferences(PreferenceSource.HUMAN)
    assert pref.pair_id == first.pair.id and pref.chosen_id == first.right.id


def test_a_decision_on_a_pair_that_vanished_is_reported_not_raised(ws):
    outcomes = []
    writer = DecisionWriter(ws.db_path, outcomes.append)
    writer.record(Preference(pair_id=999_999, decision=Decision.SKIP, source=PreferenceSource.HUMAN))
    assert writer.close(timeout_s=120)
    assert not outcomes[0].stored and "no pair 999999" in outcomes[0].error
    assert writer.pending == 0


def test_a_decision_reported_stored_survives_kill_9(ws):
    script = textwrap.dedent(
        f"""
        import os, signal, sys, threading
        from storage.decision_writer import DecisionWriter
        from storage.labelling import LabelSession
        from storage.store import Store

        done = threading.Event()
        store = Store({str(ws.db_path)!r})
        writer = DecisionWriter(store.path, lambda outcome: outcome.stored and done.set())
        session = LabelSession(store, writer=writer)
        shown = session.show(session.next_pending())
        session.decide(shown, "left")
        done.wait(120)
        print(shown.pair.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert stored(ws) == [(int(proc.stdout), "prefer")]


def test_a_decision_whose_pair_a_re_mine_renumbered_or_dropped_lands_on_the_same_two_rollouts(ws):
    outcomes = []
    with ws.store() as store:
        writer = DecisionWriter(ws.db_path, outcomes.append)
        session = LabelSession(store, writer=writer)
        first, second = (session.show(pair) for pair in store.pairs(pending_only=True)[:2])
        with store.write():  # a re-mine drops the first, proposes it again under a new id,
            store.db.execute("DELETE FROM pairs WHERE id IN (?, ?)", [first.pair.id, second.pair.id])
            renumbered = store.restore_pair(first.pair)  # and drops the second for good
        session.decide(first, "left")
        session.decide(second, "right")
        assert writer.close(timeout_s=120)
        one, two = store.preferences(PreferenceSource.HUMAN)
        assert (one.pair_id, one.chosen_id) == (renumbered, first.left.id) and renumbered != first.pair.id
        restored = store.pair(two.pair_id)
        assert two.chosen_id == second.right.id and restored.chosen_id == second.pair.chosen_id
        assert restored.rejected_id == second.pair.rejected_id
    assert [(o.stored, o.submitted_pair_id) for o in outcomes] == [
        (True, first.pair.id),
        (True, second.pair.id),
    ]
