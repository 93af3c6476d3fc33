from core.config import MiningConfig
from core.pairs import Scored, mine, mine_task, reason
from core.remedies import remedy
from core.schema import ActionKind, PairKind, Task, ToolCall

WHOLE = MiningConfig(rollout_pairs=True)


def r(rid, score, flags=(), task="t", passed=None):
    messages = {f: f"did {f}" for f in flags}
    return Scored(id=rid, task_id=task, score=score, flags=frozenset(flags), messages=messages, passed=passed)


def step(action: str, seen: str = "ok") -> str:
    """A step fingerprint: six characters for the call, six for what it saw."""
    return f"{action:>6}"[:6] + f"{seen:>6}"[:6]


def s(rid, keys, anchors=None, passed=None, parent=None, at=None, weights=None):
    anchors = anchors or {}
    return Scored(
        id=rid,
        task_id="t",
        score=sum((weights or {}).get(c, 1.0) for c in anchors),
        flags=frozenset(anchors),
        messages={c: f"did {c}" for c in anchors},
        weights=weights or {c: 1.0 for c in anchors},
        anchors=anchors,
        step_keys=tuple(keys),
        passed=passed,
        parent_id=parent,
        branch_step=at,
    )


READ, EDIT, TEST, FIN, BAD = step("read"), step("edit"), step("test"), step("finish"), step("ghost", "nofile")


def test_only_pairs_over_the_margin_and_within_one_task():
    rollouts = [
        r("a", 0),
        r("b", 0.5, ["x"]),
        r("c", 3, ["y"]),
        r("d", 0, task="u"),
        r("e", 9, ["z"], task="v"),
    ]
    pairs = mine(rollouts, MiningConfig(margin=1.0, rollout_pairs=True))
    assert {(p.chosen_id, p.rejected_id) for p in pairs} == {("a", "c"), ("b", "c")}
    assert all(p.score_gap >= 1.0 for p in pairs)


def test_equal_scores_are_never_paired():
    assert mine([r("a", 2, ["x"]), r("b", 2, ["y"])], MiningConfig(margin=0, rollout_pairs=True)) == []


def test_clear_lessons_come_first():
    clean = r("clean", 0)
    one = r("one", 3, ["tests.never_run"])
    many = r("many", 9, ["tests.never_run", "loop.repeat", "diff.too_large"])
    pairs = mine_task(
        [clean, one, many], MiningConfig(margin=1, max_per_task=3, max_per_rollout=5, rollout_pairs=True)
    )
    # The smallest difference (one flag) ranks before the largest gap.
    assert [(p.chosen_id, p.rejected_id) for p in pairs] == [
        ("clean", "one"),
        ("one", "many"),
        ("clean", "many"),
    ]


def test_every_flag_type_is_covered_before_filling():
    rollouts = [r("clean", 0)] + [r(f"n{i}", 3, ["common"]) for i in range(6)] + [r("rare", 1, ["rare.flag"])]
    pairs = mine_task(
        rollouts, MiningConfig(margin=1, max_per_task=2, max_per_rollout=10, rollout_pairs=True)
    )
    assert any("rare.flag" in p.differing_flags for p in pairs)
    assert any("common" in p.differing_flags for p in pairs)


def test_caps_per_task_and_per_rollout():
    rollouts = [r(f"good{i}", 0) for i in range(5)] + [r(f"bad{i}", 5, ["x"]) for i in range(5)]
    pairs = mine_task(rollouts, MiningConfig(margin=1, max_per_task=7, max_per_rollout=2, rollout_pairs=True))
    assert len(pairs) == 7
    uses: dict[str, int] = {}
    for p in pairs:
        for rid in (p.chosen_id, p.rejected_id):
            uses[rid] = uses.get(rid, 0) + 1
    assert max(uses.values()) <= 2


def test_reason_names_what_each_side_did():
    a = r("a", 1, ["loop.repeat"])
    b = r("b", 6, ["tests.never_run", "files.outside_allowed"])
    text = reason(a, b)
    assert text == "B did files.outside_allowed and did tests.never_run; A did loop.repeat"


def test_mining_is_deterministic_and_bounded_for_huge_tasks():
    rollouts = [r(f"x{i:04d}", i % 7, [f"f{i % 7}"] if i % 7 else []) for i in range(2000)]
    cfg = MiningConfig(margin=1, max_per_task=12, max_per_rollout=3, rollout_pairs=True)
    first = mine_task(rollouts, cfg)
    assert first == mine_task(list(reversed(rollouts)), cfg)
    assert 0 < len(first) <= 12


def test_whole_rollout_pairs_are_off_by_default():
    assert mine([r("a", 0), r("b", 5, ["x"])], MiningConfig()) == []


def test_a_pair_never_prefers_failing_tests_over_passing_ones():
    # The flag-free side fixed nothing; the flagged side fixed the bug.
    lazy, fixer = r("lazy", 0, passed=False), r("fixer", 3, ["tests.not_rerun"], passed=True)
    assert mine([lazy, fixer], WHOLE) == []
    both_fail = [r("lazy", 0, passed=False), r("fixer", 3, ["x"], passed=False)]
    assert [(p.chosen_id, p.rejected_id) for p in mine(both_fail, WHOLE)] == [("lazy", "fixer")]


def test_anchored_pair_teaches_the_step_where_the_flag_lives():
    # Both read, then one reads a missing path (flag anchored at step 1), the other edits.
    good = s("good", [READ, EDIT, TEST, FIN], passed=True)
    bad = s("bad", [READ, BAD, EDIT, TEST, FIN], {"path.hallucinated": 1}, passed=True)
    (pair,) = mine([good, bad], MiningConfig())
    assert (pair.chosen_id, pair.rejected_id, pair.kind, pair.step) == ("good", "bad", PairKind.ANCHORED, 1)
    assert pair.reason == "B did path.hallucinated"


def test_flags_anchored_elsewhere_teach_nothing_at_an_incidental_divergence():
    # They part at step 1 (two reads of different files); the flag lives at step 3.
    a = s("a", [READ, step("read2"), EDIT, FIN], {"tests.never_run": 3})
    b = s("b", [READ, step("read3"), EDIT, TEST, FIN])
    assert mine([a, b], MiningConfig()) == []


def test_an_absence_is_only_taught_by_a_side_that_does_not_have_it():
    # At step 2 one finishes untested; another reads on but never tests either: it cannot be
    # the chosen side of that lesson. Only the one that tests there can.
    quitter = s("quit", [READ, EDIT, FIN], {"tests.never_run": 2})
    wanderer = s("wander", [READ, EDIT, READ, FIN], {"tests.never_run": 3})
    tester = s("test", [READ, EDIT, TEST, FIN])
    pairs = mine([quitter, wanderer, tester], MiningConfig())
    assert {(p.chosen_id, p.rejected_id) for p in pairs} == {("test", "quit")}


def test_a_branch_pair_ranks_first_and_is_marked():
    parent = s("parent", [READ, EDIT, FIN], {"tests.never_run": 2})
    branch = s("branch", [READ, EDIT, TEST, FIN], parent="parent", at=2)
    sibling = s("sibling", [READ, EDIT, TEST, step("edit2"), FIN], {"tests.not_rerun": 4})
    pairs = mine([parent, branch, sibling], MiningConfig())
    assert (pairs[0].chosen_id, pairs[0].rejected_id, pairs[0].kind) == ("branch", "parent", PairKind.BRANCH)


def test_the_same_call_seeing_different_output_is_not_a_choice():
    a = s("a", [READ, step("test", "pass")], {})
    b = s("b", [READ, step("test", "fail"), FIN], {"tests.ignored_failure": 1})
    assert mine([a, b], MiningConfig()) == []


def test_a_parent_may_pair_with_each_of_its_branches():
    parent = s("p", [READ, BAD, EDIT, FIN], {"path.hallucinated": 1, "tests.never_run": 3})
    branches = [s(f"b{i}", [READ, step(f"alt{i}"), EDIT, TEST, FIN], parent="p", at=1) for i in range(4)]
    pairs = mine([parent, *branches], MiningConfig(max_per_rollout=1))
    assert len([p for p in pairs if p.rejected_id == "p"]) == 4


def test_every_side_marker_of_a_reason_is_named():
    from core.pairs import name_sides

    text = "step 2 (branch): A `run_tests` where B `finish`; B ran no tests; A looped on `A b`"
    assert name_sides(text, "left", "right") == (
        "step 2 (branch): left `run_tests` where right `finish`; right ran no tests; left looped on `A b`"
    )


CALLS = {
    "read": ToolCall(name="read_file", arguments={"path": "src/b.py"}),
    "test": ToolCall(name="run_tests", arguments={}),
    "edit": ToolCall(name="edit", arguments={"path": "src/a.py", "old": "a", "new": "b"}),
    "edit_tests": ToolCall(name="edit", arguments={"path": "tests/t.py", "old": "a", "new": "b"}),
}


def answers_from(calls: dict[tuple[str, int], str]):
    """`answers` for rollouts whose action at a step is named in `calls` (keys of CALLS)."""

    def answers(lesson, chosen, rejected, step):
        answer = remedy(
            lesson, CALLS[calls[rejected.id, step]], Task(id="t", instruction="", allowed_globs=["src/**"])
        )
        return answer is None or answer(CALLS[calls[chosen.id, step]])

    return answers


def kinds_from(calls: dict[tuple[str, int], str]):
    return lambda rollout_id, step: {"read": ActionKind.READ, "test": ActionKind.TEST}.get(
        calls.get((rollout_id, step), ""), ActionKind.EDIT if (rollout_id, step) in calls else None
    )


def test_a_lesson_of_timing_is_taught_only_by_its_remedy():
    # At step 1 the rejected side edits without ever testing. A side that reads instead does
    # not teach "run the tests": learnt everywhere, "read rather than edit" is "never edit".
    editor = s("edit", [READ, EDIT, FIN], {"tests.never_run": 1})
    reader = s("read", [READ, step("read2"), EDIT, TEST, FIN])
    tester = s("test", [READ, TEST, EDIT, TEST, FIN])
    answers = answers_from({("edit", 1): "edit", ("read", 1): "read", ("test", 1): "test"})
    pairs = mine([editor, reader, tester], MiningConfig(), answers=answers)
    assert {(p.chosen_id, p.rejected_id) for p in pairs} == {("test", "edit")}
    assert len(mine([editor, reader], MiningConfig())) == 1  # without remedies: as before


def test_a_lesson_of_content_is_taught_by_its_remedy_another_edit():
    bad = s("bad", [READ, step("edtest"), FIN], {"files.outside_allowed": 1})
    reader = s("reader", [READ, step("read2"), FIN])
    fixer = s("fixer", [READ, EDIT, FIN])
    answers = answers_from({("bad", 1): "edit_tests", ("reader", 1): "read", ("fixer", 1): "edit"})
    pairs = mine([bad, reader, fixer], MiningConfig(), answers=answers)
    assert {(p.chosen_id, p.rejected_id) for p in pairs} == {("fixer", "bad")}


def test_where_no_flag_parts_the_sides_the_fix_breaks_the_tie():
    fixed = s("fixed", [READ, EDIT, TEST, FIN], passed=True)
    wandered = s("wandered", [READ, step("read2"), TEST, FIN], passed=False)
    other_patch = s("other", [READ, step("edit2"), TEST, FIN], passed=False)
    kind_at = kinds_from({("fixed", 1): "edit", ("wandered", 1): "read", ("other", 1): "edit2"})
    (pair,) = mine([fixed, wandered, other_patch], MiningConfig(), kind_at)
    assert (pair.chosen_id, pair.rejected_id, pair.step) == ("fixed", "wandered", 1)
    assert pair.reason == "B did not make the edit that fixed the tests"
    assert mine([fixed, wandered], MiningConfig()) == []  # without kinds: no fix pairs


def test_balanced_a_task_says_not_yet_to_an_edit_no_more_often_than_now():
    # "Read before you edit" with no "edit now" beside it teaches "never edit": on the demo's
    # second build the tuned model stopped editing altogether.
    editor = s("editor", [READ, EDIT, FIN], {"edit.unread": 1}, passed=False)
    reader = s("reader", [READ, step("read2"), EDIT, TEST, FIN], passed=False)
    kinds = {("editor", 1): "edit", ("reader", 1): "read"}
    balanced = MiningConfig(balance_edits=True)
    assert mine([editor, reader], balanced, kinds_from(kinds)) == []
    assert len(mine([editor, reader], MiningConfig(), kinds_from(kinds))) == 1  # off by default

    fixer = s("fixer", [READ, step("edit2"), TEST, FIN], passed=True)
    kinds[("fixer", 1)] = "edit2"
    pairs = mine([editor, reader, fixer], balanced, kinds_from(kinds))
    taught = {(p.chosen_id, p.rejected_id) for p in pairs}
    assert ("fixer", "reader") in taught  # now
    assert ("reader", "editor") in taught  # so once, not yet


def test_balanced_running_the_tests_before_an_edit_is_never_held_back():
    editor = s("editor", [READ, EDIT, FIN], {"tests.never_run": 1}, passed=False)
    tester = s("tester", [READ, TEST, EDIT, TEST, FIN], passed=False)
    kinds = kinds_from({("editor", 1): "edit", ("tester", 1): "test"})
    (pair,) = mine([editor, tester], MiningConfig(balance_edits=True), kinds)
    assert (pair.chosen_id, pair.rejected_id) == ("tester", "editor")
