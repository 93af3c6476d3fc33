"""The SWE-agent `.traj` reader: single runs, retry agents with attempts, older files, broken files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from core.formats import FormatError, ReadOptions
from core.formats.swe_agent import EMPTY_ACTION, NAME, read
from core.schema import Rollout

FIXTURES = Path(__file__).parent / "fixtures"
SINGLE = FIXTURES / "astropy__astropy-13033.traj"
RETRY = FIXTURES / "astropy__astropy-13033-retry.traj"


def rollouts(path: Path, options: ReadOptions | None = None) -> list[Rollout]:
    return list(read(path, options or ReadOptions()))


def traj(*steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A minimal old-style (v0.x) trajectory: state as a JSON string, no replay config."""
    data: dict[str, Any] = {
        "environment": "swe_main",
        "trajectory": list(steps),
        "history": [{"role": "user", "content": "Fix the bug in gcd.py"}],
        "info": {"exit_status": "submitted", "submission": "diff --git a/gcd.py b/gcd.py\n"},
    }
    return data | top


def step(action: Any = "ls", observation: Any = "gcd.py", **extra: Any) -> dict[str, Any]:
    state = json.dumps({"open_file": "n/a", "working_dir": "/repo"})
    return {"action": action, "observation": observation, "thought": "look", "response": "look\n```ls```",
            "execution_time": 0.5, "state": state, "messages": []} | extra  # fmt: skip


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def error_of(tmp_path: Path, data: Any) -> FormatError:
    with pytest.raises(FormatError) as caught:
        rollouts(write(tmp_path / "bad.traj", data))
    return caught.value


def test_fixture_steps_commands_and_observations() -> None:
    [run] = rollouts(SINGLE)
    assert len(run.steps) == 7
    assert [s.index for s in run.steps] == list(range(7))
    commands = [s.tool_call.arguments["command"] if s.tool_call else None for s in run.steps]
    assert commands[:3] == [
        'find_file "core.py" astropy/timeseries',
        "open astropy/timeseries/core.py 77",
        "python reproduce.py",  # stripped of the trailing blanks it had
    ]
    assert commands[3] is None
    assert commands[4].startswith("edit 77:82\n") and commands[4].endswith("\nend_of_edit")
    assert commands[6] == "submit"
    assert {s.tool_call.name for s in run.steps if s.tool_call} == {"bash"}
    assert run.steps[0].thought == "DISCUSSION\nLet me find the file that defines the check.\n"
    assert run.steps[2].observation.content.endswith("but found 'time'\n")
    assert run.steps[2].duration_s == pytest.approx(1.87)
    assert all(s.observation.exit_code is None for s in run.steps)


def test_fixture_run_metadata() -> None:
    [run] = rollouts(SINGLE)
    assert run.task_id == "astropy__astropy-13033"
    assert run.policy == "claude-3-5-sonnet-20241022"
    assert run.exit_status == "submitted"
    assert run.final_diff.startswith("diff --git a/astropy/timeseries/core.py")
    assert (run.tokens_in, run.tokens_out) == (182034, 2210)
    assert run.tests_passed is None
    assert run.seed is None
    assert (run.source.format, run.source.record) == (NAME, 1)
    assert run.task.instruction.startswith("TimeSeries: misleading exception")


def test_empty_action_is_a_malformed_step_with_the_response_as_thought() -> None:
    [run] = rollouts(SINGLE)
    bad = run.steps[3]
    assert bad.tool_call is None
    assert bad.malformed == EMPTY_ACTION
    assert bad.thought == "I will now edit the file to fix the message."
    assert bad.observation.content.startswith("Your output was not formatted correctly.")


def test_timeouts_are_errors_and_ordinary_output_is_not() -> None:
    [run] = rollouts(SINGLE)
    assert run.steps[5].observation.error is True
    assert [s.index for s in run.steps if s.observation.error] == [5]


def test_retry_agent_imports_each_attempt_once() -> None:
    got = rollouts(RETRY)
    assert [r.source.record for r in got] == [1, 2]
    assert [r.seed for r in got] == [0, 1]
    assert [r.policy for r in got] == ["gpt-4o", "claude-3-5-sonnet-20241022"]
    assert [r.exit_status for r in got] == ["exit_cost", "submitted"]
    assert got[0].final_diff == ""
    assert got[1].final_diff.startswith("diff --git")
    assert [len(r.steps) for r in got] == [2, 3]
    assert [(r.tokens_in, r.tokens_out) for r in got] == [(90000, 800), (60000, 1200)]
    assert {r.task_id for r in got} == {"astropy__astropy-13033"}


def test_old_style_trajectory_uses_file_name_and_history(tmp_path: Path) -> None:
    demo = {"role": "user", "content": "a demonstration", "is_demo": True}
    data = traj(step(), step("submit", "diff --git a/gcd.py b/gcd.py\n"), replay_config=None)
    data["history"].insert(0, demo)
    [run] = rollouts(write(tmp_path / "gcd-fix.traj", data))
    assert run.task_id == "gcd-fix"
    assert run.policy == NAME
    assert run.task.instruction == "Fix the bug in gcd.py"
    assert [s.tool_call.arguments["command"] for s in run.steps] == ["ls", "submit"]


def test_traj_json_suffix_is_stripped_and_model_name_key_read(tmp_path: Path) -> None:
    replay = json.dumps({"agent": {"model": {"model_name": "gpt4"}}})
    [run] = rollouts(write(tmp_path / "gcd.traj.json", traj(step(), replay_config=replay)))
    assert (run.task_id, run.policy) == ("gcd", "gpt4")


def test_unreadable_replay_config_is_ignored(tmp_path: Path) -> None:
    [run] = rollouts(write(tmp_path / "gcd.traj", traj(step(), replay_config="{not json")))
    assert (run.task_id, run.policy) == ("gcd", NAME)


def test_null_observation_and_missing_info(tmp_path: Path) -> None:
    data = traj(step(observation=None))
    del data["info"]
    [run] = rollouts(write(tmp_path / "x.traj", data))
    assert run.steps[0].observation is None
    assert (run.exit_status, run.final_diff) == ("", "")


def test_nul_and_ansi_in_observations(tmp_path: Path) -> None:
    [run] = rollouts(write(tmp_path / "x.traj", traj(step(observation="\x1b[32mok\x1b[0m\x00end"))))
    assert run.steps[0].observation.content == "\x1b[32mok\x1b[0m\N{SYMBOL FOR NULL}end"


def test_huge_observation_is_capped(tmp_path: Path) -> None:
    output = "START" + "y" * 5_000_000 + "END"
    [run] = rollouts(write(tmp_path / "x.traj", traj(step(observation=output))), ReadOptions(100_000))
    observation = run.steps[0].observation
    assert observation.truncated_bytes > 0
    assert observation.content.startswith("START") and observation.content.endswith("END")


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.traj"
    path.write_text(SINGLE.read_text()[:3000])
    with pytest.raises(FormatError, match=r"cut\.traj, line \d+: invalid JSON"):
        rollouts(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(trajectory="ls"), "trajectory: expected a list of steps, found a string"),
        (
            lambda d: d.pop("trajectory"),
            '(or a retry agent\'s "attempts"); found an object with neither',
        ),
        (lambda d: d["trajectory"].append("ls"), "trajectory[1]: expected an object with action"),
        (
            lambda d: d["trajectory"][0].update(action=["ls"]),
            "trajectory[0].action: expected a string or null, found a list",
        ),
        (
            lambda d: d["trajectory"][0].update(observation=3),
            "trajectory[0].observation: expected a string or null",
        ),
        (lambda d: d["trajectory"][0].update(thought={}), "trajectory[0].thought: expected a string or null"),
        (
            lambda d: d["trajectory"][0].update(execution_time="1s"),
            "trajectory[0].execution_time: expected a number",
        ),
        (lambda d: d.update(info=[]), "info: expected an object, found a list"),
        (
            lambda d: d["info"].update(exit_status=1),
            "info.exit_status: expected a string or null, found a number",
        ),
    ],
)
def test_wrong_shapes_raise_format_errors(tmp_path: Path, change: Any, message: str) -> None:
    data = traj(step())
    change(data)
    assert message in str(error_of(tmp_path, data))


def test_not_an_object(tmp_path: Path) -> None:
    assert "found a list" in str(error_of(tmp_path, [step()]))


def test_empty_attempts_is_an_error(tmp_path: Path) -> None:
    assert "attempts: the retry agent has not finished any attempt" in str(
        error_of(tmp_path, {"attempts": []})
    )


def test_broken_attempt_names_the_attempt(tmp_path: Path) -> None:
    data = json.loads(RETRY.read_text())
    data["attempts"][1] = copy.deepcopy(data["attempts"][1]) | {"trajectory": {"oops": 1}}
    error = error_of(tmp_path, data)
    assert error.record == 2
    assert "attempts[1].trajectory: expected a list of steps, found an object" in str(error)
