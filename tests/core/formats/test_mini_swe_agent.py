"""The mini-swe-agent reader: tool-call and text models, the old bare-list form, broken files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.formats import FormatError, ReadOptions
from core.formats.mini_swe_agent import NAME, read
from core.schema import Rollout

FIXTURES = Path(__file__).parent / "fixtures"
TOOLCALL = FIXTURES / "django__django-11099.traj.json"
TEXT = FIXTURES / "mini_textbased.traj.json"
LEGACY = FIXTURES / "mini_legacy.traj.json"


def rollout(path: Path, options: ReadOptions | None = None) -> Rollout:
    [only] = read(path, options or ReadOptions())
    return only


def commands(run: Rollout) -> list[str | None]:
    return [s.tool_call.arguments.get("command") if s.tool_call else None for s in run.steps]


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def trajectory(*messages: dict[str, Any], **info: Any) -> dict[str, Any]:
    start = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Fix it"},
    ]
    info = {"mini_version": "1.9.0", **info}
    return {"info": info, "messages": start + list(messages), "trajectory_format": "mini-swe-agent-1"}


def said(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def output(text: str, code: int = 0) -> dict[str, Any]:
    return {"role": "user", "content": f"<returncode>{code}</returncode>\n<output>\n{text}</output>"}


def error_of(tmp_path: Path, data: Any) -> FormatError:
    with pytest.raises(FormatError) as caught:
        rollout(write(tmp_path / "bad.traj.json", data))
    return caught.value


def test_toolcall_fixture_steps() -> None:
    run = rollout(TOOLCALL)
    assert [s.index for s in run.steps] == list(range(6))
    assert commands(run) == [
        'grep -rn "regex = r\'\\^" django/contrib/auth/validators.py',
        None,
        "sed -i \"s/r'\\^\\[\\\\w.@+-\\]+\\$'/r'\\\\A[\\\\w.@+-]+\\\\Z'/\" django/contrib/auth/validators.py",
        "./tests/runtests.py auth_tests.test_validators",
        "./tests/runtests.py auth_tests",
        "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff",  # the classifier's business
    ]
    assert [s.tool_call.id for s in run.steps if s.tool_call] == [f"toolu_0{i}" for i in range(1, 6)]
    assert run.steps[2].thought.startswith("Fix both regexes") and run.steps[3].thought == ""
    assert run.steps[0].tokens_in == 1200 and run.steps[3].tokens_in is None


def test_toolcall_fixture_observations() -> None:
    run = rollout(TOOLCALL)
    grep, _, sed, tests, hang, finish = run.steps
    # raw_output is used, not the rendered <returncode>/<output> template.
    assert grep.observation.content == "7:    regex = r'^[\\w.@+-]+$'\n17:    regex = r'^[\\w.@+-]+$'\n"
    assert (sed.observation.content, sed.observation.exit_code) == ("", 0)
    assert tests.observation.exit_code == 1
    assert tests.observation.error is False  # a failing test run is not a tool error
    assert "\x1b[1mF\x1b[0m" in tests.observation.content
    assert (hang.observation.exit_code, hang.observation.error) == (-1, True)
    assert "Command timed out after 60 seconds" in hang.observation.content
    assert finish.observation is None
    assert grep.duration_s == pytest.approx(0.5)
    assert grep.started_at == pytest.approx(1730000000.0)


def test_format_error_feedback_without_the_rejected_turn_is_a_malformed_step() -> None:
    rejected = rollout(TOOLCALL).steps[1]
    assert rejected.tool_call is None
    assert rejected.malformed == "the harness rejected the turn: no valid bash tool call"
    assert rejected.observation.error is True
    assert "No tool calls found in the response" in rejected.observation.content


def test_toolcall_fixture_metadata() -> None:
    run = rollout(TOOLCALL)
    assert run.task_id == "django__django-11099"
    assert run.policy == "anthropic/claude-sonnet-4-5-20250929"
    assert run.exit_status == "Submitted"
    assert run.final_diff.startswith("diff --git a/django/contrib/auth/validators.py")
    assert (run.source.format, run.source.record) == (NAME, 1)
    assert run.tests_passed is None
    assert run.task.instruction.startswith("<pr_description>\nUsernameValidator")
    assert (run.tokens_in, run.tokens_out) == (1200 + 1500 + 1200 + 1200, 80 + 120 + 80 + 80)


def test_text_model_fixture() -> None:
    run = rollout(TEXT)
    assert commands(run) == [
        "find . -name validators.py | head",
        None,
        "seq 3000 | sed 's/^/line /'",
        "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT",
    ]
    assert run.steps[0].thought == "THOUGHT: Find the validators first."  # the block is the action
    rejected = run.steps[1]
    assert rejected.malformed == "expected exactly one bash block, found 2"
    assert rejected.thought.startswith("THOUGHT: two things at once.")
    assert rejected.observation.error is True
    elided = run.steps[2].observation
    assert (elided.exit_code, elided.error) == (0, False)
    assert "<output_head>\nline 0\n" in elided.content and "line 2999\n\n</output_tail>" in elided.content
    assert (run.exit_status, run.final_diff, run.policy) == ("LimitsExceeded", "", "openai/qwen3-coder-30b")
    assert run.task_id == "mini_textbased"


def test_bare_list_of_messages() -> None:
    run = rollout(LEGACY)
    assert commands(run) == [
        "cat cli.py",
        None,
        "python -m pytest tests/ -x",
        "python -m pytest tests/test_cli.py -q",
        "echo MINI_SWE_AGENT_FINAL_OUTPUT && git diff",
    ]
    cat, rejected, timeout, failing, finish = run.steps
    assert (cat.observation.content, cat.observation.exit_code) == (
        "import argparse\n\nparser = argparse.ArgumentParser()\n",
        0,
    )
    assert rejected.malformed == "expected exactly one bash block, found 0"
    assert rejected.thought == "I should add the flag now, then test it."
    assert rejected.observation.error is True
    assert rejected.observation.content.startswith("Please always provide EXACTLY ONE action")
    assert (
        timeout.observation.error is True and "timed out and has been killed" in timeout.observation.content
    )
    assert (failing.observation.exit_code, failing.observation.error) == (1, False)
    assert finish.observation.content == "diff --git a/cli.py b/cli.py\n"
    assert (run.exit_status, run.final_diff, run.policy, run.task_id) == ("", "", NAME, "mini_legacy")
    assert run.task.instruction.startswith("Please solve this issue: add a --version flag")


def test_text_reply_with_two_blocks_is_malformed(tmp_path: Path) -> None:
    reply = said("Both:\n```bash\nls\n```\nand\n```bash\npwd\n```")
    run = rollout(
        write(tmp_path / "two.traj.json", trajectory(reply, {"role": "user", "content": "EXACTLY ONE"}))
    )
    assert run.steps[0].malformed == "expected exactly one bash block, found 2"
    assert run.steps[0].thought == reply["content"]
    assert run.steps[0].observation.error is True


def test_mswea_block_wins_over_an_example_bash_block(tmp_path: Path) -> None:
    reply = said("e.g.\n```bash\nrm -rf /\n```\nso:\n```mswea_bash_command\nls -la\n```")
    run = rollout(write(tmp_path / "mixed.traj.json", trajectory(reply, output("a.py\n"))))
    assert commands(run) == ["ls -la"]
    assert run.steps[0].observation.content == "a.py\n"


def test_tool_calls_without_recorded_actions(tmp_path: Path) -> None:
    def call(cid: str, name: str, arguments: str) -> dict[str, Any]:
        return {"id": cid, "type": "function", "function": {"name": name, "arguments": arguments}}

    turn = {"role": "assistant", "content": None, "tool_calls": [
        call("a", "bash", '{"command": "ls"}'), call("b", "bash", '{"command": '), call("c", "python", "{}"),
        call("d", "bash", '{"cmd": "ls"}')]}  # fmt: skip
    results = [
        {
            "role": "tool",
            "tool_call_id": c,
            "content": f"<returncode>0</returncode>\n<output>\n{c}\n</output>",
        }
        for c in "abcd"
    ]
    run = rollout(write(tmp_path / "tc.traj.json", trajectory(turn, *results)))
    assert [s.malformed for s in run.steps] == [
        None,
        "arguments of bash are not valid JSON: Expecting value at column 13",
        "unknown tool 'python': mini-swe-agent only has bash",
        "bash call without a command string",
    ]
    assert run.steps[0].observation.content == "a\n"
    assert run.steps[1].tool_call.raw == '{"command": '


def test_submission_of_a_failed_run_is_not_a_diff(tmp_path: Path) -> None:
    data = trajectory(
        said("```bash\nls\n```"),
        output("x"),
        exit_status="RuntimeError",
        submission="Traceback (most recent call last): ...",
    )
    run = rollout(write(tmp_path / "crash.traj.json", data))
    assert (run.exit_status, run.final_diff) == ("RuntimeError", "")


def test_exit_message_fills_in_when_info_is_silent(tmp_path: Path) -> None:
    exit_message = {
        "role": "exit",
        "content": "diff --git a/x b/x\n",
        "extra": {"exit_status": "Submitted", "submission": "diff --git a/x b/x\n"},
    }
    run = rollout(
        write(tmp_path / "x.traj.json", trajectory(said("```bash\nls\n```"), output("x"), exit_message))
    )
    assert (run.exit_status, run.final_diff) == ("Submitted", "diff --git a/x b/x\n")


def test_nul_and_ansi_in_observations(tmp_path: Path) -> None:
    run = rollout(
        write(
            tmp_path / "x.traj.json", trajectory(said("```bash\nls\n```"), output("\x1b[31mred\x1b[0m\x00"))
        )
    )
    assert run.steps[0].observation.content == "\x1b[31mred\x1b[0m\N{SYMBOL FOR NULL}"


def test_huge_observation_is_capped(tmp_path: Path) -> None:
    big = {
        "role": "user",
        "content": "(rendered)",
        "extra": {"raw_output": "A" + "z" * 5_000_000 + "Z", "returncode": 0},
    }
    run = rollout(
        write(tmp_path / "x.traj.json", trajectory(said("```bash\ncat log\n```"), big)), ReadOptions(100_000)
    )
    observation = run.steps[0].observation
    assert observation.truncated_bytes > 0
    assert observation.content.startswith("A") and observation.content.endswith("Z")


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.traj.json"
    path.write_text(TOOLCALL.read_text()[:2000])
    with pytest.raises(FormatError, match=r"cut\.traj\.json, line \d+: invalid JSON"):
        rollout(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"info": {}, "messages": "hi"}, "messages: expected a list of messages, found a string"),
        ({"info": {}}, "messages: missing"),
        ({"info": [], "messages": []}, "info: expected an object, found a list"),
        ("text", "expected a mini-swe-agent trajectory"),
        (
            trajectory({"role": "robot", "content": "x"}),
            "messages[2].role: expected one of system/user/assistant/tool/exit, found 'robot'",
        ),
        (
            trajectory({"role": "assistant", "content": ["x", 1], "extra": "x"}),
            "messages[2].extra: expected an object",
        ),
        (
            trajectory({"role": "assistant", "content": {}}),
            "messages[2].content: expected a string, a list of parts or null",
        ),
        (
            trajectory({"role": "assistant", "content": "", "extra": {"actions": [{"command": 5}]}}),
            "messages[2].extra.actions[0].command: expected a string",
        ),
        (
            trajectory({"role": "assistant", "content": "", "extra": {"actions": "ls"}}),
            "messages[2].extra.actions: expected a list",
        ),
        (
            trajectory({"role": "tool", "tool_call_id": "a", "content": "x"}),
            "messages[2]: an observation with no action waiting",
        ),
    ],
)
def test_wrong_shapes_raise_format_errors(tmp_path: Path, data: Any, message: str) -> None:
    assert message in str(error_of(tmp_path, data))


def test_an_observation_answers_the_latest_turn_not_an_older_unanswered_one(tmp_path: Path) -> None:
    data = trajectory(said("```bash\nsleep 1000\n```"), said("```bash\nls\n```"), output("a.py\n"))
    run = rollout(write(tmp_path / "gap.traj.json", data))
    assert run.steps[0].observation is None
    assert run.steps[1].observation.content == "a.py\n"
