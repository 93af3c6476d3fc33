from core.config import MiningConfig
from core.pairs import Scored, mine, mine_task, reason


def r(rid, score, flags=(), task="t"):
    messages = {f: f"did {f}" for f in flags}
    return Scored(id=rid, task_id=task, score=score, flags=frozenset(flags), messages=messages)


def test_only_pairs_over_the_margin_and_within_one_task():
    rollouts = [
        r("a", 0),
        r("b", 0.5, ["x"]),
        r("c", 3, ["y"]),
        r("d", 0, task="u"),
        r("e", 9, ["z"], task="v"),
    ]
    pairs = mine(rollouts, MiningConfig(margin=1.0))
    assert {(p.chosen_id, p.rejected_id) for p in pairs} == {("a", "c"), ("b", "c")}
    assert all(p.score_gap >= 1.0 for p in pairs)


def test_equal_scores_are_never_paired():
    assert mine([r("a", 2, ["x"]), r("b", 2, ["y"])], MiningConfig(margin=0)) == []


def test_clear_lessons_come_first():
    clean = r("clean", 0)
    one = r("one", 3, ["tests.never_run"])
    many = r("many", 9, ["tests.never_run", "loop.repeat", "diff.too_large"])
    pairs = mine_task([clean, one, many], MiningConfig(margin=1, max_per_task=3, max_per_rollout=5))
    # The smallest difference (one flag) ranks before the largest gap.
    assert [(p.chosen_id, p.rejected_id) for p in pairs] == [
        ("clean", "one"),
        ("one", "many"),
        ("clean", "many"),
    ]


def test_every_flag_type_is_covered_before_filling():
    rollouts = [r("clean", 0)] + [r(f"n{i}", 3, ["common"]) for i in range(6)] + [r("rare", 1, ["rare.flag"])]
    pairs = mine_task(rollouts, MiningConfig(margin=1, max_per_task=2, max_per_rollout=10))
    assert any("rare.flag" in p.differing_flags for p in pairs)
    assert any("common" in p.differing_flags for p in pairs)


def test_caps_per_task_and_per_rollout():
    rollouts = [r(f"good{i}", 0) for i in range(5)] + [r(f"bad{i}", 5, ["x"]) for i in range(5)]
    pairs = mine_task(rollouts, MiningConfig(margin=1, max_per_task=7, max_per_rollout=2))
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
    cfg = MiningConfig(margin=1, max_per_task=12, max_per_rollout=3)
    first = mine_task(rollouts, cfg)
    assert first == mine_task(list(reversed(rollouts)), cfg)
    assert 0 < len(first) <= 12
