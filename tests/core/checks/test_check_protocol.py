"""protocol.malformed and stuck.no_stop."""

from __future__ import annotations

import pytest

from core.config import ChecksConfig
from core.schema import Step, Task
from tests.core.checks.builders import PYTEST_PASS, flags_for, make_rollout

CAT = ("bash", "cat a.py", "x = 1", 0)
PASS = ("bash", "pytest", PYTEST_PASS, 0)
SUBMIT = ("bash", "submit", "", 0)


def test_malformed_calls_are_flagged_with_the_reason() -> None:
    broken = Step(index=0, tool_call=None, malformed="arguments are not valid JSON")
    flag = flags_for(make_rollout([CAT, broken, PASS, SUBMIT])).get("protocol.malformed")
    assert flag is not None and flag.steps == [1]
    assert flag.message == "made 1 malformed tool call (arguments are not valid JSON)"


def test_a_turn_without_any_tool_call_is_malformed() -> None:
    flag = flags_for(make_rollout([CAT, Step(index=0, thought="hmm"), PASS, SUBMIT])).get(
        "protocol.malformed"
    )
    assert flag is not None and flag.steps == [1] and flag.message == "made 1 malformed tool call"


def test_well_formed_rollouts_and_a_final_plain_answer_are_fine() -> None:
    assert "protocol.malformed" not in flags_for(make_rollout([CAT, PASS, SUBMIT]))
    final_answer = Step(index=0, thought="The fix is done: add now adds.")
    assert "protocol.malformed" not in flags_for(make_rollout([CAT, PASS, final_answer]))


@pytest.mark.parametrize(
    "status",
    [
        "step_limit",
        "max_steps",
        "exit_step_limit",
        "exit_cost",
        "exit_context",
        "LimitsExceeded",
        "submitted (exit_cost)",
        "max_iterations",
    ],
)
def test_a_limit_exit_status_is_not_stopping(status: str) -> None:
    flag = flags_for(make_rollout([CAT, PASS], exit_status=status)).get("stuck.no_stop")
    assert flag is not None and flag.steps == [1] and "hit a limit" in flag.message


@pytest.mark.parametrize("status", ["submitted", "finished", "error", ""])
def test_other_exit_statuses_are_fine(status: str) -> None:
    assert "stuck.no_stop" not in flags_for(make_rollout([CAT, PASS], exit_status=status))


def test_running_out_the_step_limit_without_finishing() -> None:
    rollout = make_rollout([CAT] * 5)
    flag = flags_for(rollout, Task(id="t1", step_limit=5)).get("stuck.no_stop")
    assert (
        flag is not None and flag.message == "ran 5 steps without finishing (limit 5)" and flag.steps == [4]
    )
    assert "stuck.no_stop" not in flags_for(rollout, Task(id="t1", step_limit=6))
    assert "stuck.no_stop" in flags_for(rollout, None, ChecksConfig(step_limit=5))
    assert "stuck.no_stop" not in flags_for(make_rollout([CAT] * 4 + [SUBMIT]), Task(id="t1", step_limit=5))
