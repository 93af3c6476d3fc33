"""compare() counts, rates, verdicts and warnings on small synthetic rollout sets, and its markdown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.evaluate.compare import compare, markdown
from core.evaluate.stats import fisher_exact_p, newcombe_interval, wilson_interval

ENTRY_KEYS = {
    "before",
    "after",
    "diff",
    "ci_before",
    "ci_after",
    "ci_diff",
    "p_value",
    "count_before",
    "count_after",
    "significant",
    "verdict",
}


def summary(
    i: int,
    flags: tuple[str, ...] = (),
    tests_passed: bool | int | None = True,
    n_steps: int = 10,
    diff_lines: int = 5,
    score: float = 0.0,
) -> dict[str, Any]:
    return {
        "id": f"r{i}",
        "task_id": f"t{i % 3}",
        "seed": i,
        "flags": list(flags),
        "tests_passed": tests_passed,
        "n_steps": n_steps,
        "diff_lines": diff_lines,
        "score": score,
    }


def rollouts(n: int, flagged: int = 0, flag: str = "loop.repeat", **kwargs: Any) -> list[dict[str, Any]]:
    """n rollouts, the first `flagged` of them flagged with `flag`."""
    return [summary(i, (flag,) if i < flagged else (), **kwargs) for i in range(n)]


def test_result_has_the_contract_keys_and_round_trips_through_json() -> None:
    result = compare(rollouts(10, 3), rollouts(12, 1), ["loop.repeat"])
    assert set(result) == {"n", "modes", "overall", "pass_rate", "means", "warnings"}
    assert set(result["modes"]["loop.repeat"]) == ENTRY_KEYS
    assert set(result["overall"]) == ENTRY_KEYS
    assert set(result["pass_rate"]) == ENTRY_KEYS - {"count_before", "count_after"}
    assert set(result["means"]) == {"steps", "diff_lines", "score"}
    assert set(result["means"]["steps"]) == {"before", "after", "diff"}
    assert json.loads(json.dumps(result)) == result


def test_counts_rates_and_intervals() -> None:
    before = rollouts(10, 4)
    after = rollouts(20, 2)
    entry = compare(before, after, ["loop.repeat"])["modes"]["loop.repeat"]
    assert (entry["count_before"], entry["count_after"]) == (4, 2)
    assert entry["before"] == pytest.approx(0.4)
    assert entry["after"] == pytest.approx(0.1)
    assert entry["diff"] == pytest.approx(-0.3)
    assert entry["ci_before"] == pytest.approx(list(wilson_interval(4, 10)), abs=1e-12)
    assert entry["ci_after"] == pytest.approx(list(wilson_interval(2, 20)), abs=1e-12)
    assert entry["ci_diff"] == pytest.approx(list(newcombe_interval(4, 10, 2, 20)), abs=1e-12)
    assert entry["p_value"] == pytest.approx(fisher_exact_p(4, 10, 2, 20), abs=1e-12)


def test_a_flag_repeated_in_one_rollout_counts_once() -> None:
    before = [summary(0, ("loop.repeat", "loop.repeat")), summary(1)]
    entry = compare(before, [summary(2)], ["loop.repeat"])["modes"]["loop.repeat"]
    assert entry["count_before"] == 1
    assert entry["before"] == pytest.approx(0.5)


def test_a_significant_rise_is_worse_and_warned() -> None:
    result = compare(rollouts(20, 0), rollouts(20, 12), ["loop.repeat"])
    entry = result["modes"]["loop.repeat"]
    assert entry["significant"] is True
    assert entry["verdict"] == "worse"
    assert entry["p_value"] < 0.05
    assert any("loop.repeat" in w and "worse" in w for w in result["warnings"])


def test_a_significant_fall_is_better() -> None:
    result = compare(rollouts(20, 12), rollouts(20, 0), ["loop.repeat"])
    assert result["modes"]["loop.repeat"]["verdict"] == "better"
    assert result["overall"]["verdict"] == "better"
    assert any("loop.repeat" in w and "improved" in w for w in result["warnings"])


def test_a_small_change_is_unchanged_and_not_warned() -> None:
    result = compare(rollouts(20, 3), rollouts(20, 5), ["loop.repeat"])
    entry = result["modes"]["loop.repeat"]
    assert entry["significant"] is False
    assert entry["verdict"] == "unchanged"
    assert result["warnings"] == []


def test_alpha_decides_significance() -> None:
    p = fisher_exact_p(2, 20, 9, 20)
    assert 0.01 < p < 0.05
    assert compare(rollouts(20, 2), rollouts(20, 9), ["loop.repeat"])["modes"]["loop.repeat"]["significant"]
    strict = compare(rollouts(20, 2), rollouts(20, 9), ["loop.repeat"], alpha=0.01)
    assert strict["modes"]["loop.repeat"]["verdict"] == "unchanged"


def test_zero_count_modes_are_present() -> None:
    result = compare(rollouts(5, 2), rollouts(5, 1), ["loop.repeat", "files.scratch_left", "tests.not_rerun"])
    assert list(result["modes"]) == ["loop.repeat", "files.scratch_left", "tests.not_rerun"]
    empty = result["modes"]["files.scratch_left"]
    assert (empty["count_before"], empty["count_after"]) == (0, 0)
    assert (empty["before"], empty["after"], empty["diff"]) == (0.0, 0.0, 0.0)
    assert empty["p_value"] == pytest.approx(1.0)
    assert empty["verdict"] == "unchanged"


def test_overall_counts_any_flag_even_outside_the_modes() -> None:
    before = [summary(0, ("custom.thing",)), summary(1, ("loop.repeat", "custom.thing")), summary(2)]
    result = compare(before, [summary(3)], ["loop.repeat"])
    assert result["overall"]["count_before"] == 2
    assert result["overall"]["before"] == pytest.approx(2 / 3)


def test_pass_rate_treats_unknown_as_not_passed_and_a_rise_as_better() -> None:
    before = [summary(i, tests_passed=None if i % 2 else 0) for i in range(20)]
    after = [summary(i, tests_passed=1) for i in range(20)]
    pass_rate = compare(before, after, [])["pass_rate"]
    assert (pass_rate["before"], pass_rate["after"]) == (0.0, 1.0)
    assert pass_rate["verdict"] == "better"


def test_a_significant_fall_in_pass_rate_is_worse_and_warned() -> None:
    result = compare(rollouts(20, tests_passed=True), rollouts(20, tests_passed=False), [])
    assert result["pass_rate"]["verdict"] == "worse"
    assert any("pass rate" in w and "worse" in w for w in result["warnings"])


def test_means() -> None:
    before = [
        summary(0, n_steps=10, diff_lines=4, score=2.0),
        summary(1, n_steps=20, diff_lines=6, score=4.0),
    ]
    after = [summary(2, n_steps=12, diff_lines=1, score=0.5)]
    means = compare(before, after, [])["means"]
    assert means["steps"] == pytest.approx({"before": 15.0, "after": 12.0, "diff": -3.0})
    assert means["diff_lines"] == pytest.approx({"before": 5.0, "after": 1.0, "diff": -4.0})
    assert means["score"] == pytest.approx({"before": 3.0, "after": 0.5, "diff": -2.5})


def test_early_finish_warning_when_steps_drop_and_pass_rate_does_not_rise() -> None:
    result = compare(rollouts(20, n_steps=20), rollouts(20, n_steps=10), [])
    assert any("finishing early" in w for w in result["warnings"])


def test_no_early_finish_warning_when_pass_rate_rises() -> None:
    before = rollouts(20, n_steps=20, tests_passed=False)
    after = rollouts(20, n_steps=10, tests_passed=True)
    result = compare(before, after, [])
    assert result["pass_rate"]["verdict"] == "better"
    assert not any("finishing early" in w for w in result["warnings"])


def test_no_early_finish_warning_for_a_modest_drop() -> None:
    result = compare(rollouts(20, n_steps=20), rollouts(20, n_steps=16), [])
    assert not any("finishing early" in w for w in result["warnings"])


@pytest.mark.parametrize("modes", [["tests.never_run"], []])
def test_never_run_rising_warns_that_tests_stopped(modes: list[str]) -> None:
    before = rollouts(20, 0, flag="tests.never_run")
    after = rollouts(20, 15, flag="tests.never_run")
    result = compare(before, after, modes)
    assert any("stopped running tests" in w for w in result["warnings"])


def test_empty_sides_do_not_crash() -> None:
    result = compare([], [], ["loop.repeat"])
    entry = result["modes"]["loop.repeat"]
    assert entry["ci_before"] == [0.0, 1.0]
    assert entry["ci_diff"] == [-1.0, 1.0]
    assert entry["verdict"] == "unchanged"
    assert result["means"]["steps"] == {"before": None, "after": None, "diff": None}
    assert len(result["warnings"]) == 2
    assert "n/a" in markdown(result)


def test_bad_alpha_is_rejected() -> None:
    with pytest.raises(ValueError):
        compare([], [], [], alpha=1.5)


def test_markdown_has_the_header_and_a_row_per_mode() -> None:
    modes = ["loop.repeat", "tests.never_run", "files.scratch_left"]
    result = compare(rollouts(20, 0), rollouts(20, 12), modes)
    text = markdown(result, title="Tuned vs base")
    assert "## Tuned vs base" in text
    assert "| Mode | Before | After | Diff | 95% CI of diff | p | Verdict |" in text
    for mode in modes:
        assert sum(1 for line in text.splitlines() if line.startswith(f"| `{mode}` |")) == 1
    assert "| `loop.repeat` | 0.0% | 60.0% | +60.0 pp |" in text
    assert "| **any flag** |" in text
    assert "| **tests passed** |" in text
    assert "| steps | 10.00 | 10.00 | +0.00 |" in text
    assert any(line.startswith("- loop.repeat") for line in text.splitlines())


def test_markdown_p_has_three_significant_digits() -> None:
    result = compare(rollouts(10, 1), rollouts(14, 11), ["loop.repeat"])
    row = next(line for line in markdown(result).splitlines() if line.startswith("| `loop.repeat`"))
    assert "| 0.00276 |" in row
