"""Several annotators on one workspace: own queues, undo and progress, overlap, nothing lost
between processes, adjudication, the agreement report, and training from agreed labels."""

import multiprocessing
import sqlite3

import pytest

from core.agreement.labels import LabelPolicy, overlap_target
from core.chat import Rendering
from core.config import TrainConfig
from core.schema import Decision, Pair, Preference
from storage import agreement, rows
from storage.decision_writer import DecisionWriter
from storage.labelling import ANNOTATOR_ENV, LabelSession, annotator_name
from storage.store import Store
from tests.conftest import make_rollout


def seed_pairs(store: Store, count: int = 6, wrong_check: str = "bad.check") -> list[Pair]:
    """`count` pairs over two tasks: the checks prefer the side without `tests.never_run`;
    `wrong_check` flags that same preferred side, so it prefers the side people reject."""
    rollouts, pairs = [], []
    for i in range(count):
        task = f"t{i % 2}"
        good = make_rollout(f"good{i}", task, flags=[wrong_check], score=0)
        bad = make_rollout(f"bad{i}", task, flags=["tests.never_run"], score=4)
        rollouts += [good, bad]
        pairs.append(Pair(task_id=task, chosen_id=good.id, rejected_id=bad.id, score_gap=4, reason="r"))
    store.insert_rollouts(
        [rows.prepared(r, rows.compress(rows.STEPS.dump_json(r.steps)), 0) for r in rollouts]
    )
    store.replace_proposals(pairs)
    return store.pairs()


def side(session: LabelSession, pair: Pair, rollout_id: str) -> str:
    """The key that picks `rollout_id` in this session's view of the pair."""
    return "left" if session.show(pair).left.id == rollout_id else "right"


def decide(session: LabelSession, pair: Pair, what: str = "good", **kwargs) -> Preference:
    chosen = {"good": pair.chosen_id, "bad": pair.rejected_id}.get(what)
    return session.decide(session.show(pair), side(session, pair, chosen) if chosen else what, **kwargs)


def human(store: Store) -> list[tuple[int, str, str, int]]:
    return store.db.execute(
        "SELECT pair_id, annotator, decision, adjudicated FROM preferences WHERE source = 'human'"
        " ORDER BY pair_id, annotator, adjudicated"
    ).fetchall()


# -- who is labelling ---------------------------------------------------------------------


def test_the_annotator_is_the_flag_else_the_variable_else_the_login(monkeypatch):
    import getpass

    monkeypatch.setenv(ANNOTATOR_ENV, "  env\x1b[31m name ")
    monkeypatch.setattr(getpass, "getuser", lambda: "login")
    assert annotator_name("given") == "given"
    assert annotator_name(None) == "env[31m name"  # no escape reaches a terminal
    monkeypatch.setenv(ANNOTATOR_ENV, " ")
    assert annotator_name("") == "login"

    def no_login() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr(getpass, "getuser", no_login)
    assert annotator_name(None) == "anonymous"
    assert len(annotator_name("x" * 500)) == 64


# -- decisions coexist -----------------------------------------------------------------------


@pytest.mark.parametrize("with_writer", [False, True])
def test_two_annotators_decisions_on_one_pair_coexist_and_undo_touches_only_ones_own(store, with_writer):
    first, *_ = seed_pairs(store)
    writer = DecisionWriter(store.path) if with_writer else None
    ann = LabelSession(store, annotator="ann", overlap=2, writer=writer)
    bob = LabelSession(store, annotator="bob", overlap=2)
    decide(ann, first, "good")
    decide(bob, first, "bad")
    decide(ann, first, "both_bad")  # ann changes her mind: replaces her own decision only
    if writer is not None:
        assert writer.close(timeout_s=120)
        ann.writer = writer = DecisionWriter(store.path)
    assert human(store) == [(first.id, "ann", "both_bad", 0), (first.id, "bob", "prefer", 0)]
    assert ann.undo().id == first.id
    if writer is not None:
        assert writer.close(timeout_s=120)
    assert human(store) == [(first.id, "bob", "prefer", 0)]
    assert bob.undo().id == first.id and human(store) == []


def test_a_second_decision_from_the_same_annotator_replaces_theirs(store):
    first, *_ = seed_pairs(store)
    store.record_preference(Preference(pair_id=first.id, decision=Decision.SKIP, annotator="ann"))
    store.record_preference(Preference(pair_id=first.id, decision=Decision.BOTH_GOOD, annotator="ann"))
    assert human(store) == [(first.id, "ann", "both_good", 0)]
    with pytest.raises(ValueError, match="adjudication"):
        store.record_preference(
            Preference(pair_id=first.id, decision=Decision.SKIP, annotator="ann", adjudicated=True)
        )


# -- queues and overlap ----------------------------------------------------------------------


def test_with_overlap_one_a_pair_decided_by_one_annotator_leaves_everyones_queue(store):
    pairs = seed_pairs(store, 4)
    ann, bob = LabelSession(store, annotator="ann"), LabelSession(store, annotator="bob")
    first = ann.next_pending()
    assert bob.next_pending() == first  # shown to both until someone decides it
    decide(ann, first)
    assert bob.next_pending() != first and ann.next_pending() != first
    progress = bob.progress()
    assert (progress.done, progress.remaining, progress.own) == (1, 3, 0)
    assert ann.progress().own == 1 and len(pairs) == 4


def test_with_overlap_k_a_pair_stays_until_k_annotators_decided_it_and_nobody_sees_it_twice(store):
    pairs = sorted(seed_pairs(store, 3), key=lambda p: (p.task_id, p.id))  # the queue's order
    ann, bob, cy = (LabelSession(store, annotator=name, overlap=2) for name in ("ann", "bob", "cy"))
    for pair in pairs:
        decide(ann, pair)
    assert ann.next_pending() is None and ann.progress().remaining == 0
    assert bob.next_pending() == pairs[0] and bob.progress().remaining == 3
    decide(bob, pairs[0])
    assert cy.next_pending() == pairs[1]  # pairs[0] has its two decisions
    decide(cy, pairs[1])
    assert bob.next_pending() == pairs[2] == cy.next_pending()
    assert (cy.progress().own, cy.progress().done, bob.progress().done) == (1, 2, 2)
    assert store.pairs(pending_only=True) == []  # for `status` and `label --auto`, all are decided


def test_a_skip_is_one_annotators_and_comes_back_only_in_their_queue(store):
    pairs = seed_pairs(store, 2)
    ann = LabelSession(store, annotator="ann", overlap=2)
    bob = LabelSession(store, annotator="bob", overlap=2)
    decide(ann, pairs[0], "skip")
    assert ann.next_pending() == pairs[1] and bob.next_pending() == pairs[0]
    decide(ann, pairs[1])
    assert ann.next_pending() == pairs[0]  # her skip, back at the end of her queue
    assert (ann.progress().skipped, bob.progress().skipped) == (1, 0)


def test_only_the_overlap_share_of_pairs_waits_for_a_second_annotator(store):
    pairs = seed_pairs(store, 40)
    fraction = 0.5
    shared = {
        p.id for p in pairs if overlap_target(rows.pair_key(p.chosen_id, p.rejected_id), 2, fraction) == 2
    }
    assert 0 < len(shared) < len(pairs)
    ann = LabelSession(store, annotator="ann", overlap=2, overlap_fraction=fraction)
    bob = LabelSession(store, annotator="bob", overlap=2, overlap_fraction=fraction)
    while (pair := ann.next_pending()) is not None:
        decide(ann, pair)
    offered = []
    while (pair := bob.next_pending()) is not None:
        offered.append(pair.id)
        decide(bob, pair)
    assert set(offered) == shared


def test_an_automatic_decision_settles_a_pair_for_everyone(store):
    pairs = seed_pairs(store, 2)
    store.record_preference(
        Preference(pair_id=pairs[0].id, decision=Decision.PREFER, chosen_id=pairs[0].chosen_id, source="auto")
    )
    ann = LabelSession(store, annotator="ann", overlap=3)
    assert ann.next_pending() == pairs[1] and ann.progress().done == 1


# -- two processes, one file -----------------------------------------------------------------


def test_two_sessions_on_separate_connections_deciding_in_turn_lose_nothing(tmp_path):
    path = tmp_path / "ws.db"
    with Store(path) as setup:
        pairs = seed_pairs(setup, 6)
    with Store(path) as one, Store(path) as two:
        ann = LabelSession(one, annotator="ann", writer=DecisionWriter(path))
        bob = LabelSession(two, annotator="bob")  # one through a writer, one committing directly
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # ann's decisions wait behind a third process
        shown = [ann.next_pending(), ann.next_pending()]
        assert shown[0] == shown[1] == pairs[0]
        decide(ann, pairs[0], "good")
        decide(ann, pairs[1], "bad")
        assert ann.writer.pending == 2
        holder.execute("COMMIT")
        decide(bob, pairs[0], "both_bad")  # the same pair, decided by both at once
        assert ann.writer.close(timeout_s=120)
        decide(bob, bob.next_pending())
    with Store(path) as store:
        assert human(store) == [
            (pairs[0].id, "ann", "prefer", 0),
            (pairs[0].id, "bob", "both_bad", 0),
            (pairs[1].id, "ann", "prefer", 0),
            (pairs[2].id, "bob", "prefer", 0),
        ]


def _label_everything(path: str, annotator: str, start, done) -> None:  # type: ignore[no-untyped-def]
    """A second process: one annotator deciding every pair offered, as fast as it can."""
    with Store(path) as store:
        session = LabelSession(store, annotator=annotator, overlap=2)
        start.wait(120)
        decided = 0
        while (pair := session.next_pending()) is not None:
            session.decide(session.show(pair), "left" if decided % 2 else "both_bad")
            decided += 1
    done.put((annotator, decided))


def test_two_processes_labelling_the_same_workspace_at_once_lose_nothing(tmp_path):
    path = tmp_path / "ws.db"
    with Store(path) as setup:
        pairs = seed_pairs(setup, 30)
    context = multiprocessing.get_context("spawn")
    start, done = context.Event(), context.Queue()
    workers = [
        context.Process(target=_label_everything, args=(str(path), name, start, done))
        for name in ("ann", "bob")
    ]
    for worker in workers:
        worker.start()
    start.set()
    results = dict(done.get(timeout=300) for _ in workers)
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert results == {"ann": 30, "bob": 30}
    with Store(path) as store:
        by_pair = store.db.execute(
            "SELECT pair_id, group_concat(annotator) FROM (SELECT * FROM preferences ORDER BY annotator)"
            " GROUP BY pair_id"
        ).fetchall()
    assert by_pair == [(p.id, "ann,bob") for p in pairs]


# -- adjudication ----------------------------------------------------------------------------


def test_an_adjudicated_decision_sits_beside_the_votes_and_empties_the_queue(store):
    pairs = seed_pairs(store, 3)
    ann = LabelSession(store, annotator="ann", overlap=2)
    bob = LabelSession(store, annotator="bob", overlap=2)
    for pair in pairs:
        decide(ann, pair, "good")
    decide(bob, pairs[0], "bad")
    decide(bob, pairs[1], "good")
    decide(bob, pairs[2], "both_good")
    assert [c.pair_id for c in agreement.conflicts(store)] == [pairs[0].id, pairs[2].id]
    assert ann.next_conflict() == pairs[0]
    decide(ann, pairs[0], "bad", adjudicated=True)
    assert ann.next_conflict() == pairs[2]
    assert (pairs[0].id, "ann", "prefer", 0) in human(store) and (pairs[0].id, "ann", "prefer", 1) in human(
        store
    )
    assert ann.undo().id == pairs[0].id  # the adjudication goes, her vote stays
    assert (pairs[0].id, "ann", "prefer", 0) in human(store) and ann.next_conflict() == pairs[0]


def test_an_adjudication_session_works_through_its_queue_and_records_every_decision_as_adjudicated(store):
    from storage.labelling import AdjudicationSession

    pairs = seed_pairs(store, 4)
    queue = [pairs[2].id, pairs[0].id, pairs[3].id]
    cy = AdjudicationSession(store, annotator="cy", queue=queue)
    assert cy.who == "cy adjudicating" and cy.next_pending() == pairs[2]
    assert cy.next_pending(after=pairs[2].id) == pairs[0]  # what comes next, prepared ahead
    decide(cy, pairs[2], "skip")  # stores nothing; the pair comes back after the others
    assert cy.next_pending() == pairs[0]
    decide(cy, pairs[0], "bad")
    store.record_preference(  # someone else adjudicates pairs[3] meanwhile: it leaves the queue
        Preference(pair_id=pairs[3].id, decision=Decision.BOTH_BAD, annotator="dee", adjudicated=True)
    )
    assert cy.next_pending() == pairs[2]
    progress = cy.progress()
    assert (progress.done, progress.remaining, progress.skipped, progress.own) == (2, 1, 1, 1)
    assert [row for row in human(store) if row[1] == "cy"] == [(pairs[0].id, "cy", "prefer", 1)]
    decide(cy, pairs[2], "good")
    assert cy.next_pending() is None and cy.progress().remaining == 0
    assert cy.undo().id == pairs[2].id and cy.next_pending() == pairs[2]  # her own, newest first
    assert cy.undo().id == pairs[0].id and cy.next_pending() == pairs[2]  # the queue order again
    assert [row for row in human(store) if row[1] == "cy"] == []


# -- which decision trains -------------------------------------------------------------------


def test_label_policies_choose_one_decision_per_pair_and_count_what_they_drop(store):
    pairs = seed_pairs(store, 4)
    for name, whats in {
        "ann": ["good", "good", "good"],
        "bob": ["good", "bad", "bad"],
        "cy": [None, None, "good"],
    }.items():
        session = LabelSession(store, annotator=name, overlap=3)
        for pair, what in zip(pairs, whats, strict=False):
            if what:
                decide(session, pair, what)
    store.record_preference(  # the fourth pair: decided by the checks only
        Preference(pair_id=pairs[3].id, decision=Decision.PREFER, chosen_id=pairs[3].chosen_id, source="auto")
    )
    # pair 0: agreed; pair 1: a 1-1 tie; pair 2: 2-1 for the checks' side
    chosen = {
        policy: {p.pair_id: p.chosen_id for p in store.effective_preferences(policy)}
        for policy in LabelPolicy
    }
    assert chosen[LabelPolicy.LATEST] == {
        p.id: p.chosen_id if i != 1 else p.rejected_id for i, p in enumerate(pairs)
    }
    assert chosen[LabelPolicy.MAJORITY] == {p.id: p.chosen_id for i, p in enumerate(pairs) if i != 1}
    assert chosen[LabelPolicy.ADJUDICATED] == {p.id: p.chosen_id for i, p in enumerate(pairs) if i in (0, 3)}
    assert agreement.dropped_for_disagreement(store, LabelPolicy.MAJORITY) == [pairs[1].id]
    assert store.effective_preferences() == store.effective_preferences(LabelPolicy.MAJORITY)  # the default
    bob = LabelSession(store, annotator="bob", overlap=3)
    decide(bob, pairs[1], "bad", adjudicated=True)
    assert agreement.dropped_for_disagreement(store, LabelPolicy.MAJORITY) == []
    assert agreement.dropped_for_disagreement(store, LabelPolicy.ADJUDICATED) == [pairs[2].id]


def test_the_report_finds_the_check_people_overrule_and_counts_each_annotator(store):
    pairs = seed_pairs(store, 8)
    for name in ("ann", "bob"):
        session = LabelSession(store, annotator=name, overlap=2)
        for i, pair in enumerate(pairs):
            decide(session, pair, "bad" if name == "bob" and i == 0 else "good")
    report = agreement.agreement_report(store, resamples=100)
    assert agreement.annotator_counts(store) == report.annotators == {"ann": 8, "bob": 8}
    (pairwise,) = report.pairwise
    assert (pairwise.shared, pairwise.agreed) == (8, 7)
    assert report.overall.items == 8 and [c.pair_id for c in report.conflicts] == [pairs[0].id]
    least, most = report.checks
    assert least.check == "bad.check" and least.precision == pytest.approx(1 / 16)
    assert most.check == "tests.never_run" and most.precision == pytest.approx(15 / 16)
    assert [d.model_dump() for d in most.disagreements] == [{"pair_id": pairs[0].id, "annotator": "bob"}]


def test_training_applies_the_label_policy_and_the_plan_records_what_it_dropped(tmp_path):
    from storage import service, training
    from tests.tui.conftest import build_workspace

    ws = build_workspace(tmp_path / "ws", rollouts=16)
    with ws.store() as store:
        pairs = store.pairs()
        assert len(pairs) >= 3
        for name in ("ann", "bob"):
            session = LabelSession(store, annotator=name, overlap=2)
            for i, pair in enumerate(pairs[:3]):
                decide(session, pair, "bad" if name == "bob" and i == 0 else "good")
        majority, _ = training.dataset_split(
            store, TrainConfig(human_only=True, validation_fraction=0), Rendering()
        )
        latest, _ = training.dataset_split(
            store, TrainConfig(human_only=True, validation_fraction=0, label_policy="latest"), Rendering()
        )
        assert sorted(r["pair_id"] for r in majority.train) == sorted(p.id for p in pairs[1:3])
        assert sorted(r["pair_id"] for r in latest.train) == sorted(p.id for p in pairs[:3])
        plan = training.Plan(
            base_model=tmp_path,
            settings=TrainConfig(),
            split=majority,
            skipped=[],
            dropped=agreement.dropped_for_disagreement(store, LabelPolicy.MAJORITY),
        )
        assert plan.counts["label_policy"] == "majority" and plan.counts["dropped_disagreement"] == 1
        assert service.status(store)["proposals_pending"] == len(pairs) - 3


def test_the_labelling_queue_and_training_plan_load_no_statistics_stack():
    """numpy (and the `krippendorff` package) load only where a report is computed."""
    import subprocess
    import sys

    code = "import sys, storage.labelling, storage.agreement, storage.training; print('numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False"]
