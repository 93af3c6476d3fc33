"""loop.repeat: OpenHands' stuck rules over canonical actions."""

from __future__ import annotations

from core.config import ChecksConfig
from core.schema import Observation, Step, ToolCall
from tests.core.checks.builders import flags_for, make_rollout

CAT = ("bash", "cat src/calc.py", "def add(a, b): ...", 0)
LS = ("bash", "ls src", "calc.py", 0)
GREP = ("bash", "grep -rn add src", "src/calc.py:1:def add", 0)


def loop_flag(specs: list, cfg: ChecksConfig | None = None):  # type: ignore[type-arg]
    return flags_for(make_rollout(specs), cfg=cfg).get("loop.repeat")


def test_four_identical_steps_are_a_loop() -> None:
    flag = loop_flag([LS, CAT, CAT, CAT, CAT, GREP])
    assert flag is not None and flag.steps == [1, 2, 3, 4]
    assert flag.message == "repeated `cat src/calc.py` 4 times with the same result"


def test_three_identical_steps_are_not() -> None:
    assert loop_flag([LS, CAT, CAT, CAT, GREP]) is None


def test_four_identical_but_interrupted_are_not() -> None:
    assert loop_flag([CAT, CAT, LS, CAT, CAT]) is None


def test_thoughts_ids_and_whitespace_do_not_hide_a_repeat() -> None:
    steps = [
        Step(
            index=0,
            thought=f"attempt {i}: maybe this time",
            tool_call=ToolCall(
                name="bash", arguments={"command": "cat  src/calc.py" + " " * i}, id=f"id-{i}"
            ),
            observation=Observation(content="def add(a, b): ...", exit_code=0),
            started_at=1000.0 + i,
        )
        for i in range(4)
    ]
    assert loop_flag(steps) is not None


def test_a_changing_observation_is_progress_not_a_loop() -> None:
    polling = [("bash", "tail -3 build.log", f"compiled {i} of 9", 0) for i in range(5)]
    assert loop_flag(polling) is None


def test_the_threshold_comes_from_the_config() -> None:
    assert loop_flag([CAT, CAT, CAT], ChecksConfig(loop_repeats=3)) is not None
    assert loop_flag([CAT] * 4, ChecksConfig(loop_repeats=5)) is None


def test_three_identical_failing_steps_are_a_loop_even_with_different_errors() -> None:
    failing = [("bash", "python setup.py build", f"error: step {i} failed", 1) for i in range(3)]
    flag = loop_flag([LS, *failing])
    assert flag is not None and flag.steps == [1, 2, 3] and "failing each time" in flag.message


def test_two_identical_failing_steps_are_not() -> None:
    assert loop_flag([("bash", "python setup.py build", f"error {i}", 1) for i in range(2)]) is None


def test_repeated_failing_test_runs_are_not_errors() -> None:
    # A test run exiting 1 is a result, not a tool error; it only loops under the 4-identical rule.
    runs = [("bash", "pytest", f"1 failed in 0.0{i}s", 1) for i in range(3)]
    assert loop_flag(runs) is None


def test_tool_errors_count_without_an_exit_code() -> None:
    step = Step(
        index=0,
        tool_call=ToolCall(name="str_replace_editor", arguments={"command": "str_replace", "path": "a.py"}),
        observation=Observation(content="No replacement was performed", error=True),
    )
    assert loop_flag([step, step, step]) is not None


def test_abababab_alternation_is_a_loop() -> None:
    flag = loop_flag([CAT, LS, CAT, LS, CAT, LS])
    assert flag is not None and flag.steps == [0, 1, 2, 3, 4, 5]
    assert flag.message == "alternated between `cat src/calc.py` and `ls src` for 6 steps"


def test_ababa_is_not() -> None:
    assert loop_flag([CAT, LS, CAT, LS, CAT]) is None


def test_alternation_needs_matching_observations() -> None:
    steps = [("bash", "cat a.py" if i % 2 else "ls", f"out {i}", 0) for i in range(6)]
    assert loop_flag(steps) is None


def test_a_malformed_step_breaks_a_run() -> None:
    broken = Step(index=0, tool_call=None, malformed="invalid JSON")
    assert loop_flag([CAT, CAT, broken, CAT, CAT]) is None
