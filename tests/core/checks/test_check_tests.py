"""tests.never_run, tests.not_rerun, tests.ignored_failure and how a test run's outcome is read."""

from __future__ import annotations

import pytest

from core.actions import effects
from core.checks.common import run_outcome
from core.schema import Observation, Step, ToolCall
from tests.core.checks.builders import PYTEST_FAIL, PYTEST_PASS, flags_for, make_rollout

READ = ("bash", "cat src/calc.py", "def add(a, b):\n    return a - b\n", 0)
EDIT = ("bash", "sed -i 's/a - b/a + b/' src/calc.py", "", 0)
FAIL = ("bash", "python -m pytest -q", PYTEST_FAIL, 1)
PASS = ("bash", "python -m pytest -q", PYTEST_PASS, 0)
SUBMIT = ("bash", "submit", "", 0)


def test_never_run_flags_a_rollout_without_tests() -> None:
    flag = flags_for(make_rollout([READ, EDIT, SUBMIT])).get("tests.never_run")
    assert flag is not None and flag.message == "ran no tests"


def test_never_run_is_quiet_once_any_step_runs_tests() -> None:
    assert "tests.never_run" not in flags_for(make_rollout([READ, EDIT, PASS, SUBMIT]))


def test_a_compound_command_that_runs_tests_counts() -> None:
    rollout = make_rollout(
        [READ, ("bash", "sed -i 's/a - b/a + b/' src/calc.py && pytest -q", PYTEST_PASS, 0)]
    )
    assert "tests.never_run" not in flags_for(rollout)


def test_not_rerun_flags_edits_after_the_last_test_run() -> None:
    flag = flags_for(make_rollout([READ, FAIL, EDIT, SUBMIT])).get("tests.not_rerun")
    assert flag is not None and flag.steps == [2]
    assert flag.message.startswith("edited code after the last test run")


def test_not_rerun_is_quiet_when_tests_ran_after_the_edit() -> None:
    assert "tests.not_rerun" not in flags_for(make_rollout([READ, FAIL, EDIT, PASS, SUBMIT]))


def test_not_rerun_needs_a_test_run_at_all() -> None:
    assert "tests.not_rerun" not in flags_for(make_rollout([READ, EDIT, SUBMIT]))


def test_not_rerun_ignores_removing_the_agents_own_scratch_script() -> None:
    create = ("bash", "cat > reproduce.py <<'EOF'\nprint(1)\nEOF", "", 0)
    rollout = make_rollout([READ, create, EDIT, PASS, ("bash", "rm reproduce.py", "", 0), SUBMIT])
    assert "tests.not_rerun" not in flags_for(rollout)
    rollout = make_rollout([READ, EDIT, PASS, ("bash", "rm src/calc.py", "", 0), SUBMIT])
    assert flags_for(rollout)["tests.not_rerun"].steps == [3]


def test_ignored_failure_flags_finishing_on_a_red_run() -> None:
    flag = flags_for(make_rollout([READ, EDIT, FAIL, SUBMIT])).get("tests.ignored_failure")
    assert flag is not None and flag.steps == [2, 3]
    assert flag.message == "finished while the last test run failed"


def test_ignored_failure_is_quiet_when_the_last_run_passed() -> None:
    assert "tests.ignored_failure" not in flags_for(make_rollout([READ, FAIL, EDIT, PASS, SUBMIT]))


def test_ignored_failure_is_quiet_when_the_agent_did_not_finish() -> None:
    assert "tests.ignored_failure" not in flags_for(
        make_rollout([READ, EDIT, FAIL], exit_status="step_limit")
    )


def test_ignored_failure_counts_a_submitted_exit_status_as_finishing() -> None:
    flag = flags_for(make_rollout([READ, EDIT, FAIL], exit_status="submitted")).get("tests.ignored_failure")
    assert flag is not None and flag.steps == [2]


def test_ignored_failure_reads_the_summary_when_the_exit_code_is_piped_away() -> None:
    piped_fail = ("bash", "cd /testbed && python -m pytest 2>&1 | tail -20", PYTEST_FAIL, 0)
    piped_pass = ("bash", "cd /testbed && python -m pytest 2>&1 | tail -20", PYTEST_PASS, 0)
    assert "tests.ignored_failure" in flags_for(make_rollout([READ, EDIT, piped_fail, SUBMIT]))
    assert "tests.ignored_failure" not in flags_for(make_rollout([READ, EDIT, piped_pass, SUBMIT]))


def test_ignored_failure_counts_a_timeout_as_failing() -> None:
    timeout = ("bash", "timeout 60 pytest", "", 124)
    assert "tests.ignored_failure" in flags_for(make_rollout([READ, EDIT, timeout, SUBMIT]))


def run_step(command: str, output: str, exit_code: int | None, error: bool = False) -> Step:
    return Step(
        index=0,
        tool_call=ToolCall(name="bash", arguments={"command": command}),
        observation=Observation(content=output, exit_code=exit_code, error=error),
    )


@pytest.mark.parametrize(
    ("command", "output", "exit_code", "expected"),
    [
        ("pytest", "anything", 0, True),
        ("pytest", "anything", 1, False),
        ("pytest | tail", PYTEST_FAIL, 0, False),
        ("pytest | tail", PYTEST_PASS, 0, True),
        ("pytest", PYTEST_FAIL, None, False),
        ("pytest", PYTEST_PASS, None, True),
        ("pytest", "==== 3 passed, 1 error in 0.2s ====", None, False),
        ("pytest", "FAILED tests/test_a.py::test_x - assert 1 == 2", None, False),
        ("python -m unittest", "Ran 3 tests in 0.001s\n\nFAILED (failures=1)", None, False),
        ("python -m unittest", "Ran 3 tests in 0.001s\n\nOK", None, True),
        ("python -m unittest", "ImportError: No module named calc", None, False),
        ("go test ./...", "--- FAIL: TestAdd (0.00s)\nFAIL", None, False),
        ("cargo test", "test result: ok. 3 passed; 0 failed", None, True),
        ("pytest", "Command timed out after 300 seconds", None, False),
        ("pytest", "", None, None),
        ("pytest", "", 137, False),
    ],
)
def test_outcome_of_a_test_run(
    command: str, output: str, exit_code: int | None, expected: bool | None
) -> None:
    step = run_step(command, output, exit_code)
    assert step.tool_call is not None
    assert run_outcome(step, effects(step.tool_call)) is expected


def test_tool_error_counts_as_failure() -> None:
    step = run_step("pytest", "", 0, error=True)
    assert step.tool_call is not None
    assert run_outcome(step, effects(step.tool_call)) is False
