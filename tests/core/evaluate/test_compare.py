"""compare() pairing, counts, rates, verdicts and warnings on small synthetic rollout sets, and its markdown.

A rollout `summary(i)` has task `t{i % 3}` and seed `i`, so the i-th rollouts of two lists pair up.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.evaluate.compare import MODE_METHOD, SINGLE_METHOD, Summary, compare, markdown, pair_up
from core.evaluate.result import Comparison
from core.evaluate.stats import ClusterCounts, cluster_bootstrap_interval, mcnemar_exact_p, wilson_interval
from tests.storage.test_evals import MODE_KEYS

ENTRY_KEYS = set(MODE_KEYS)  # one list of a mode's keys, in `eval --json`'s order


def summary(
    i: int,
    flags: tuple[str, ...] = (),
    tests_passed: bool | int | None = True,
    n_steps: int = 10,
    diff_lines: int = 5,
    score: float = 0.0,
) -> Summary:
    return Summary(
        id=f"r{i}",
        task_id=f"t{i % 3}",
        seed=i,
        flags=list(flags),
        tests_passed=None if tests_passed is None else bool(tests_passed),
        n_steps=n_steps,
        diff_lines=diff_lines,
        score=score,
    )


def rollouts(n: int, flagged: int = 0, flag: str = "loop.repeat", **kwargs: Any) -> list[Summary]:
    """n rollouts, the first `flagged` of them flagged with `flag`."""
    return [summary(i, (flag,) if i < flagged else (), **kwargs) for i in range(n)]


def compare_json(
    before: list[Summary], after: list[Summary], modes: list[str], alpha: float = 0.05
) -> dict[str, Any]:
    """The result as `eval --json` prints it: these tests pin the document's keys and values."""
    return compare(before, after, modes, alpha=alpha).as_json()


def test_result_has_the_contract_keys_and_round_trips_through_json() -> None:
    result = compare_json(rollouts(10, 3), rollouts(12, 1), ["loop.repeat"])
    assert set(result) == {"n", "n_pairs", "modes", "overall", "pass_rate", "means", "warnings"}
    assert set(result["modes"]["loop.repeat"]) == ENTRY_KEYS
    assert set(result["overall"]) == ENTRY_KEYS
    assert set(result["pass_rate"]) == ENTRY_KEYS - {"count_before", "count_after"}
    assert set(result["means"]) == {"steps", "diff_lines", "score"}
    assert set(result["means"]["steps"]) == {"before", "after", "diff"}
    assert json.loads(json.dumps(result)) == result
    assert Comparison.model_validate(result).as_json() == result  # and back through the model


def test_counts_rates_and_intervals() -> None:
    before = rollouts(10, 4)
    after = rollouts(20, 2)
    result = compare_json(before, after, ["loop.repeat"])
    entry = result["modes"]["loop.repeat"]
    # Rates, counts and Wilson intervals describe each side whole, unpaired rollouts included.
    assert (entry["count_before"], entry["count_after"]) == (4, 2)
    assert entry["before"] == pytest.approx(0.4)
    assert entry["after"] == pytest.approx(0.1)
    assert entry["diff"] == pytest.approx(-0.3)
    assert entry["ci_before"] == pytest.approx(list(wilson_interval(4, 10)), abs=1e-12)
    assert entry["ci_after"] == pytest.approx(list(wilson_interval(2, 20)), abs=1e-12)
    # The test and the interval of the difference use the 10 pairs (seeds 0-9) only.
    assert result["n_pairs"] == 10
    assert entry["discordant"] == [2, 0]  # seeds 2 and 3 lost the flag, none gained it
    assert entry["p_value"] == pytest.approx(mcnemar_exact_p(2, 0), abs=1e-12)
    # Per task (t0: seeds 0 3 6 9, t1: 1 4 7, t2: 2 5 8): pairs, flagged before, flagged after.
    clusters = [ClusterCounts(4, 2, 1), ClusterCounts(3, 1, 1), ClusterCounts(3, 1, 0)]
    assert entry["ci_diff"] == pytest.approx(list(cluster_bootstrap_interval(clusters)), abs=1e-12)
    assert any("10 rollouts have no counterpart" in w for w in result["warnings"])


def test_a_mode_that_flips_on_the_same_task_and_seed_gets_a_small_p() -> None:
    """10 of 30 flagged before, 3 after, and the 3 are among the 10: seven pairs all moved one way.

    Fisher's test on 10/30 vs 3/30 (p ~ 0.06) would miss this; the pairing shows it (p = 2/128).
    """
    result = compare_json(rollouts(30, 10), rollouts(30, 3), ["loop.repeat"])
    entry = result["modes"]["loop.repeat"]
    assert entry["discordant"] == [7, 0]
    assert entry["p_value"] == pytest.approx(2 / 128)
    assert entry["verdict"] == "better"


def test_the_same_rates_on_disagreeing_pairs_are_not_significant() -> None:
    """Same marginal rates as above, but the 3 flagged after are other seeds: b = 10, c = 3."""
    before = rollouts(30, 10)
    after = [summary(i, ("loop.repeat",) if 10 <= i < 13 else ()) for i in range(30)]
    entry = compare_json(before, after, ["loop.repeat"])["modes"]["loop.repeat"]
    assert (entry["before"], entry["after"]) == pytest.approx((10 / 30, 3 / 30))
    assert entry["discordant"] == [10, 3]
    assert entry["p_value"] == pytest.approx(2 * (1 + 13 + 78 + 286) / 2**13)
    assert entry["verdict"] == "unchanged"


def test_unpaired_rollouts_are_left_out_of_the_test() -> None:
    extra = [summary(100 + i, ("loop.repeat",)) for i in range(12)]  # seeds the other side never ran
    result = compare_json(rollouts(20, 0) + extra, rollouts(20, 0), ["loop.repeat"])
    entry = result["modes"]["loop.repeat"]
    assert result["n"] == {"before": 32, "after": 20}
    assert result["n_pairs"] == 20
    assert entry["count_before"] == 12
    assert entry["discordant"] == [0, 0]
    assert entry["p_value"] == 1.0
    assert entry["ci_diff"] == [0.0, 0.0]
    assert entry["verdict"] == "unchanged"
    assert any("12 rollouts have no counterpart" in w and "20 pairs" in w for w in result["warnings"])


def test_no_pairs_at_all_tests_nothing_and_says_so() -> None:
    before = rollouts(10, 10)
    after = [summary(100 + i) for i in range(10)]
    result = compare_json(before, after, ["loop.repeat"])
    entry = result["modes"]["loop.repeat"]
    assert result["n_pairs"] == 0
    assert (entry["before"], entry["after"]) == (1.0, 0.0)
    assert (entry["p_value"], entry["ci_diff"], entry["verdict"]) == (1.0, [-1.0, 1.0], "unchanged")
    assert any("nothing was tested" in w for w in result["warnings"])


def test_pairing_needs_the_task_and_the_seed() -> None:
    before = [summary(0), summary(1)._replace(task_id="other"), summary(2)._replace(seed=None)]
    after = [summary(2), summary(1), summary(0), summary(3)._replace(seed=None)]
    assert [(b.id, a.id) for b, a in pair_up(before, after)] == [("r0", "r0")]


def test_a_repeated_task_and_seed_pairs_in_order() -> None:
    before = [summary(0)._replace(id="b1"), summary(0)._replace(id="b2"), summary(0)._replace(id="b3")]
    after = [summary(0)._replace(id="a1"), summary(0)._replace(id="a2")]
    assert [(b.id, a.id) for b, a in pair_up(before, after)] == [("b1", "a1"), ("b2", "a2")]


def test_holm_makes_a_marginal_mode_non_significant() -> None:
    """b = 0, c = 6 gives p = 2/64 ~ 0.031: significant alone, not as one of two tests (0.0625)."""
    before, after = rollouts(20, 2), rollouts(20, 8)
    alone = compare_json(before, after, ["loop.repeat"])["modes"]["loop.repeat"]
    assert alone["p_value"] == alone["p_value_adjusted"] == pytest.approx(2 / 64)
    assert alone["verdict"] == "worse"
    family = compare_json(before, after, ["loop.repeat", "edit.unread"])["modes"]
    entry = family["loop.repeat"]
    assert entry["p_value"] == pytest.approx(2 / 64)  # the raw p is kept
    assert entry["p_value_adjusted"] == pytest.approx(2 * 2 / 64)
    assert (entry["significant"], entry["verdict"]) == (False, "unchanged")
    assert family["edit.unread"]["p_value_adjusted"] == 1.0
    assert entry["method"] == MODE_METHOD


def test_overall_and_pass_rate_are_not_adjusted() -> None:
    result = compare_json(rollouts(20, 2), rollouts(20, 8), ["loop.repeat", "edit.unread", "diff.too_large"])
    for key in ("overall", "pass_rate"):
        assert result[key]["p_value_adjusted"] == result[key]["p_value"]
        assert result[key]["method"] == SINGLE_METHOD
    assert result["overall"]["p_value"] == pytest.approx(2 / 64)
    assert result["overall"]["verdict"] == "worse"


def test_the_paired_interval_contains_the_difference() -> None:
    before = [summary(i, ("loop.repeat",) if i % 4 else ()) for i in range(24)]
    after = [summary(i, ("loop.repeat",) if i % 3 == 0 else ()) for i in range(24)]
    entry = compare_json(before, after, ["loop.repeat"])["modes"]["loop.repeat"]
    lo, hi = entry["ci_diff"]
    assert lo <= entry["diff"] <= hi
    assert compare_json(before, after, ["loop.repeat"])["modes"]["loop.repeat"]["ci_diff"] == [lo, hi]


def test_a_flag_repeated_in_one_rollout_counts_once() -> None:
    before = [summary(0, ("loop.repeat", "loop.repeat")), summary(1)]
    entry = compare_json(before, [summary(2)], ["loop.repeat"])["modes"]["loop.repeat"]
    assert entry["count_before"] == 1
    assert entry["before"] == pytest.approx(0.5)


def test_a_significant_rise_is_worse_and_warned() -> None:
    result = compare_json(rollouts(20, 0), rollouts(20, 12), ["loop.repeat"])
    entry = result["modes"]["loop.repeat"]
    assert entry["significant"] is True
    assert entry["verdict"] == "worse"
    assert entry["p_value"] < 0.05
    assert any("loop.repeat" in w and "worse" in w for w in result["warnings"])


def test_a_significant_fall_is_better() -> None:
    result = compare_json(rollouts(20, 12), rollouts(20, 0), ["loop.repeat"])
    assert result["modes"]["loop.repeat"]["verdict"] == "better"
    assert result["overall"]["verdict"] == "better"
    assert any("loop.repeat" in w and "improved" in w for w in result["warnings"])


def test_a_small_change_is_unchanged_and_not_warned() -> None:
    result = compare_json(rollouts(20, 3), rollouts(20, 5), ["loop.repeat"])
    entry = result["modes"]["loop.repeat"]
    assert entry["significant"] is False
    assert entry["verdict"] == "unchanged"
    assert result["warnings"] == []


def test_alpha_decides_significance() -> None:
    p = mcnemar_exact_p(0, 6)
    assert 0.01 < p < 0.05
    assert compare_json(rollouts(20, 2), rollouts(20, 8), ["loop.repeat"])["modes"]["loop.repeat"][
        "significant"
    ]
    strict = compare_json(rollouts(20, 2), rollouts(20, 8), ["loop.repeat"], alpha=0.01)
    assert strict["modes"]["loop.repeat"]["verdict"] == "unchanged"


def test_zero_count_modes_are_present() -> None:
    result = compare_json(
        rollouts(5, 2), rollouts(5, 1), ["loop.repeat", "files.scratch_left", "tests.not_rerun"]
    )
    assert list(result["modes"]) == ["loop.repeat", "files.scratch_left", "tests.not_rerun"]
    empty = result["modes"]["files.scratch_left"]
    assert (empty["count_before"], empty["count_after"]) == (0, 0)
    assert (empty["before"], empty["after"], empty["diff"]) == (0.0, 0.0, 0.0)
    assert empty["p_value"] == pytest.approx(1.0)
    assert empty["discordant"] == [0, 0]
    assert empty["verdict"] == "unchanged"


def test_overall_counts_any_flag_even_outside_the_modes() -> None:
    before = [summary(0, ("custom.thing",)), summary(1, ("loop.repeat", "custom.thing")), summary(2)]
    result = compare_json(before, [summary(3)], ["loop.repeat"])
    assert result["overall"]["count_before"] == 2
    assert result["overall"]["before"] == pytest.approx(2 / 3)


def test_pass_rate_treats_unknown_as_not_passed_and_a_rise_as_better() -> None:
    before = [summary(i, tests_passed=None if i % 2 else 0) for i in range(20)]
    after = [summary(i, tests_passed=1) for i in range(20)]
    pass_rate = compare_json(before, after, [])["pass_rate"]
    assert (pass_rate["before"], pass_rate["after"]) == (0.0, 1.0)
    assert pass_rate["verdict"] == "better"


def test_pass_rate_own_tests_is_absent_when_no_rollout_recorded_it() -> None:
    before = [s._replace(tests_passed_own=None) for s in rollouts(10)]
    assert "pass_rate_own_tests" not in compare_json(before, rollouts(10), [])


def test_pass_rate_own_tests_treats_missing_as_not_passed() -> None:
    before = [s._replace(tests_passed_own=None if i % 2 else False) for i, s in enumerate(rollouts(20))]
    after = [s._replace(tests_passed_own=True) for s in rollouts(20)]
    after[0] = after[0]._replace(tests_passed_own=None)  # not recorded
    result = compare_json(before, after, [])
    own = result["pass_rate_own_tests"]
    assert set(own) == set(result["pass_rate"])
    assert (own["before"], own["after"]) == pytest.approx((0.0, 19 / 20))
    assert own["discordant"] == [0, 19]
    assert own["verdict"] == "better"
    assert own["method"] == SINGLE_METHOD
    assert result["pass_rate"]["verdict"] == "unchanged"  # tests_passed is another outcome
    assert any("tests as the agent left them improved" in w for w in result["warnings"])
    assert "| **own tests passed** | 0.0% | 95.0% |" in markdown(compare(before, after, []))


def test_a_significant_fall_in_pass_rate_is_worse_and_warned() -> None:
    result = compare_json(rollouts(20, tests_passed=True), rollouts(20, tests_passed=False), [])
    assert result["pass_rate"]["verdict"] == "worse"
    assert any("pass rate" in w and "worse" in w for w in result["warnings"])


def test_means() -> None:
    before = [
        summary(0, n_steps=10, diff_lines=4, score=2.0),
        summary(1, n_steps=20, diff_lines=6, score=4.0),
    ]
    after = [summary(2, n_steps=12, diff_lines=1, score=0.5)]
    means = compare_json(before, after, [])["means"]
    assert means["steps"] == pytest.approx({"before": 15.0, "after": 12.0, "diff": -3.0})
    assert means["diff_lines"] == pytest.approx({"before": 5.0, "after": 1.0, "diff": -4.0})
    assert means["score"] == pytest.approx({"before": 3.0, "after": 0.5, "diff": -2.5})


def test_early_finish_warning_when_steps_drop_and_pass_rate_does_not_rise() -> None:
    result = compare_json(rollouts(20, n_steps=20), rollouts(20, n_steps=10), [])
    assert any("finishing early" in w for w in result["warnings"])


def test_no_early_finish_warning_when_pass_rate_rises() -> None:
    before = rollouts(20, n_steps=20, tests_passed=False)
    after = rollouts(20, n_steps=10, tests_passed=True)
    result = compare_json(before, after, [])
    assert result["pass_rate"]["verdict"] == "better"
    assert not any("finishing early" in w for w in result["warnings"])


def test_no_early_finish_warning_for_a_modest_drop() -> None:
    result = compare_json(rollouts(20, n_steps=20), rollouts(20, n_steps=16), [])
    assert not any("finishing early" in w for w in result["warnings"])


@pytest.mark.parametrize("modes", [["tests.never_run"], []])
def test_never_run_rising_warns_that_tests_stopped(modes: list[str]) -> None:
    before = rollouts(20, 0, flag="tests.never_run")
    after = rollouts(20, 15, flag="tests.never_run")
    result = compare_json(before, after, modes)
    assert any("stopped running tests" in w for w in result["warnings"])


def test_empty_sides_do_not_crash() -> None:
    result = compare_json([], [], ["loop.repeat"])
    entry = result["modes"]["loop.repeat"]
    assert entry["ci_before"] == [0.0, 1.0]
    assert entry["ci_diff"] == [-1.0, 1.0]
    assert entry["verdict"] == "unchanged"
    assert result["means"]["steps"] == {"before": None, "after": None, "diff": None}
    assert len(result["warnings"]) == 2
    assert "n/a" in markdown(compare([], [], ["loop.repeat"]))


def test_bad_alpha_is_rejected() -> None:
    with pytest.raises(ValueError):
        compare_json([], [], [], alpha=1.5)


def test_markdown_has_the_header_and_a_row_per_mode() -> None:
    modes = ["loop.repeat", "tests.never_run", "files.scratch_left"]
    result = compare(rollouts(20, 0), rollouts(20, 12), modes)
    text = markdown(result, title="Tuned vs base")
    assert "## Tuned vs base" in text
    assert "| Mode | Before | After | Diff | 95% CI of diff | p (Holm) | Verdict |" in text
    assert "(20 paired on task and seed)" in text and "McNemar" in text
    for mode in modes:
        assert sum(1 for line in text.splitlines() if line.startswith(f"| `{mode}` |")) == 1
    assert "| `loop.repeat` | 0.0% | 60.0% | +60.0 pp |" in text
    assert "| **any flag** |" in text
    assert "| **tests passed** |" in text
    assert "| steps | 10.00 | 10.00 | +0.00 |" in text
    assert any(line.startswith("- loop.repeat") for line in text.splitlines())


def test_markdown_p_has_three_significant_digits() -> None:
    result = compare(rollouts(10, 1), rollouts(14, 11), ["loop.repeat"])  # 10 pairs: b = 0, c = 9
    row = next(line for line in markdown(result).splitlines() if line.startswith("| `loop.repeat`"))
    assert "| 0.00391 |" in row


def test_markdown_shows_the_adjusted_p() -> None:
    result = compare(rollouts(20, 2), rollouts(20, 8), ["loop.repeat", "edit.unread"])
    row = next(line for line in markdown(result).splitlines() if line.startswith("| `loop.repeat`"))
    assert "| 0.0625 | unchanged |" in row
