"""The OpenAI chat reader: realistic conversations, and the odd files users actually have."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.formats import FormatError, ReadOptions
from core.formats.openai_chat import NAME, read
from core.schema import Rollout

FIXTURES = Path(__file__).parent / "fixtures"


def rollouts(path: Path, options: ReadOptions | None = None) -> list[Rollout]:
    return list(read(path, options or ReadOptions()))


def write_jsonl(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def call(call_id: str, name: str, arguments: object) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def chat(*tail: dict) -> list[dict]:
    """A conversation: the task, one bash call and its result, then `tail`."""
    return [
        {"role": "user", "content": "Fix gcd.py"},
        {"role": "assistant", "content": None, "tool_calls": [call("a", "bash", '{"command": "ls"}')]},
        {"role": "tool", "tool_call_id": "a", "content": "gcd.py\n"},
        *tail,
    ]


def error_of(tmp_path: Path, *records: object) -> FormatError:
    with pytest.raises(FormatError) as caught:
        rollouts(write_jsonl(tmp_path / "bad.jsonl", *records))
    return caught.value


def test_jsonl_fixture_yields_one_rollout_per_line() -> None:
    got = rollouts(FIXTURES / "openai_chat.jsonl")
    assert [r.source.record for r in got] == [1, 2, 3]
    assert {r.source.format for r in got} == {NAME}
    assert all(r.source.path.endswith("openai_chat.jsonl") for r in got)
    assert [len(r.steps) for r in got] == [5, 5, 2]
    assert all([s.index for s in r.steps] == list(range(len(r.steps))) for r in got)


def test_tool_calls_results_and_metadata() -> None:
    gcd = rollouts(FIXTURES / "openai_chat.jsonl")[0]
    assert gcd.task_id == "quixbugs-gcd"
    assert gcd.policy == "qwen2.5-coder-7b-instruct"
    assert gcd.exit_status == "finished"
    assert gcd.final_diff.startswith("diff --git a/gcd.py")
    assert gcd.tests_passed is None
    assert gcd.task is not None and gcd.task.instruction.startswith("Fix the bug in gcd.py")
    names = [s.tool_call.name for s in gcd.steps if s.tool_call]
    assert names == ["read_file", "bash", "edit_file", "bash", "finish"]
    assert gcd.steps[0].tool_call.arguments == {"path": "gcd.py"}
    assert gcd.steps[0].tool_call.id == "call_1"
    assert gcd.steps[1].thought == "Let me run the tests first."
    # A list of text parts is joined; ANSI colour codes are stored as they came.
    assert gcd.steps[1].observation.content.startswith("\x1b[31mF\x1b[0m\nFAILED test_gcd.py")
    assert gcd.steps[1].observation.exit_code is None
    assert all(s.malformed is None for s in gcd.steps)


def test_two_calls_in_one_message_are_two_steps_and_results_follow_ids() -> None:
    gcd = rollouts(FIXTURES / "openai_chat.jsonl")[0]
    edit, test = gcd.steps[2], gcd.steps[3]
    assert edit.thought.startswith("The arguments of the recursive call are swapped")
    assert test.thought == ""
    assert (edit.tokens_in, edit.tokens_out) == (640, 58)
    assert (test.tokens_in, test.tokens_out) == (None, None)
    # The results came back in the opposite order; ids put them right.
    assert edit.observation.content == "Edited gcd.py (1 line changed)."
    assert test.observation.content == "3 passed in 0.04s\n"
    assert (gcd.tokens_in, gcd.tokens_out) == (412 + 501 + 640 + 700, 23 + 31 + 58 + 17)


def test_last_text_answer_after_tool_calls_is_the_finish() -> None:
    gcd = rollouts(FIXTURES / "openai_chat.jsonl")[0]
    finish = gcd.steps[-1]
    assert finish.tool_call.name == "finish"
    assert finish.tool_call.arguments == {
        "message": "Fixed: gcd now recurses on (b, a % b); all 3 tests pass."
    }
    assert finish.observation is None
    assert finish.malformed is None


def test_bad_arguments_and_text_turns_are_malformed_steps_not_errors() -> None:
    messy = rollouts(FIXTURES / "openai_chat.jsonl")[1]
    broken, chatter, listed = messy.steps[0], messy.steps[1], messy.steps[2]
    assert broken.tool_call.name == "read_file"
    assert broken.tool_call.arguments == {}
    assert broken.tool_call.raw == '{"path": "palindrome.py"'
    assert broken.malformed.startswith("arguments of read_file are not valid JSON: ")
    assert broken.observation.content == "error: could not parse arguments"
    assert chatter.tool_call is None
    assert chatter.malformed == "no tool call in the assistant turn"
    assert chatter.thought == "Hmm, I think the bug is in the loop bounds."
    assert chatter.observation is None
    assert listed.malformed == "arguments of bash are not a JSON object: found a list"
    assert listed.observation.content == "error: arguments must be an object"
    assert messy.steps[3].tool_call.arguments == {"command": "cat palindrome.py"}
    assert messy.steps[4].tool_call.name == "finish"


def test_bare_list_without_metadata_gets_format_defaults() -> None:
    messy = rollouts(FIXTURES / "openai_chat.jsonl")[1]
    assert messy.policy == NAME
    assert messy.exit_status == ""
    assert messy.final_diff == ""
    assert messy.task_id.startswith("openai_chat-")
    assert messy.task.instruction == "Make `is_palindrome('abba')` return True in palindrome.py."


def test_inspect_style_dict_arguments_metadata_and_tool_errors() -> None:
    bitcount = rollouts(FIXTURES / "openai_chat.jsonl")[2]
    assert bitcount.task_id == "bitcount"
    assert bitcount.policy == "gpt-4o-mini"
    assert bitcount.task.instruction == "bitcount(127) loops forever; fix bitcount.py."
    assert bitcount.steps[0].tool_call.arguments == {"command": "cat bitcount.py"}
    assert bitcount.steps[0].observation.error is False
    assert bitcount.steps[1].observation.error is True  # the tool reported a timeout


def test_json_file_with_one_conversation() -> None:
    [one] = rollouts(FIXTURES / "openai_conversation.json")
    assert one.source.record == 1
    assert one.task_id == "quixbugs-gcd"
    assert one.policy == "claude-3-5-haiku"
    assert one.tests_passed is True
    assert [s.tool_call.name for s in one.steps] == ["bash", "bash", "finish"]
    assert one.steps[0].thought == "Run the tests to see the failure."


def test_json_file_with_a_list_of_conversations(tmp_path: Path) -> None:
    path = tmp_path / "batch.json"
    path.write_text(
        json.dumps([{"task_id": "t1", "messages": chat()}, {"task_id": "t2", "messages": chat()}])
    )
    got = rollouts(path)
    assert [(r.task_id, r.source.record) for r in got] == [("t1", 1), ("t2", 2)]


def test_json_file_with_a_bare_list_of_messages(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(chat(), indent=2))
    [one] = rollouts(path)
    assert one.steps[0].tool_call.arguments == {"command": "ls"}
    assert one.steps[0].observation.content == "gcd.py\n"


def test_jsonl_content_in_a_json_named_file_is_read_as_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "export.json", {"messages": chat()}, {"messages": chat()})
    assert [r.source.record for r in rollouts(path)] == [1, 2]


def test_default_task_id_groups_identical_prompts_only(tmp_path: Path) -> None:
    other = [{"role": "user", "content": "Fix lcs.py"}, *chat()[1:]]
    got = rollouts(write_jsonl(tmp_path / "runs.jsonl", chat(), chat(), other))
    assert got[0].task_id == got[1].task_id != got[2].task_id
    assert all(r.task_id.startswith("runs-") for r in got)


def test_conversation_without_any_tool_call_has_no_finish(tmp_path: Path) -> None:
    talk = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello! How can I help?"}]
    [only] = rollouts(write_jsonl(tmp_path / "talk.jsonl", talk))
    assert only.steps[0].tool_call is None
    assert only.steps[0].malformed == "no tool call in the assistant turn"


def test_tool_result_without_id_goes_to_the_oldest_waiting_call(tmp_path: Path) -> None:
    two = {
        "role": "assistant",
        "content": None,
        "tool_calls": [call("x", "bash", "{}"), call("y", "bash", "{}")],
    }
    messages = [two, {"role": "tool", "content": "first"}, {"role": "tool", "content": "second"}]
    [got] = rollouts(write_jsonl(tmp_path / "noids.jsonl", messages))
    assert [s.observation.content for s in got.steps] == ["first", "second"]


def test_legacy_function_call(tmp_path: Path) -> None:
    messages = [
        {
            "role": "assistant",
            "content": None,
            "function_call": {"name": "bash", "arguments": '{"command": "ls"}'},
        },
        {"role": "function", "name": "bash", "content": "a.py"},
    ]
    [got] = rollouts(write_jsonl(tmp_path / "legacy.jsonl", messages))
    assert got.steps[0].tool_call.arguments == {"command": "ls"}
    assert got.steps[0].observation.content == "a.py"


def test_nul_bytes_are_replaced_and_ansi_kept(tmp_path: Path) -> None:
    [got] = rollouts(
        write_jsonl(tmp_path / "nul.jsonl", [*chat()[:2], {"role": "tool", "content": "a\x00b \x1b[1mX"}])
    )
    assert got.steps[0].observation.content == "a\N{SYMBOL FOR NULL}b \x1b[1mX"


def test_undecodable_bytes_become_storable_text(tmp_path: Path) -> None:
    path = tmp_path / "bytes.jsonl"
    line = json.dumps([*chat()[:2], {"role": "tool", "content": "PLACEHOLDER"}]).encode()
    path.write_bytes(line.replace(b"PLACEHOLDER", b"caf\xe9 \\ud800") + b"\n")
    [got] = rollouts(path)
    assert got.steps[0].observation.content == "caf\ufffd \ufffd"
    got.model_dump_json()  # would raise on a lone surrogate


def test_huge_observation_keeps_head_and_tail(tmp_path: Path) -> None:
    output = "HEAD" + "x" * 5_000_000 + "TAIL"
    path = write_jsonl(tmp_path / "big.jsonl", [*chat()[:2], {"role": "tool", "content": output}])
    [got] = rollouts(path, ReadOptions(max_observation_bytes=100_000))
    observation = got.steps[0].observation
    assert observation.truncated_bytes > 4_800_000
    assert observation.content.startswith("HEAD") and observation.content.endswith("TAIL")
    assert len(observation.content) < 110_000


def test_truncated_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_text(json.dumps(chat()) + "\n" + json.dumps(chat())[:50] + "\n")
    with pytest.raises(FormatError) as caught:
        rollouts(path)
    assert caught.value.record == 2
    assert "cut.jsonl, record 2: invalid JSON" in str(caught.value)


def test_truncated_json_document_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(json.dumps({"messages": chat()}, indent=2)[:-40])
    with pytest.raises(FormatError, match=r"cut\.json, line \d+: invalid JSON"):
        rollouts(path)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"messages": "hello"}, "messages: expected a list of messages, found a string"),
        ({"prompt": "x", "id": 3}, 'no "messages" (keys: id, prompt)'),
        ("just text", "expected a conversation"),
        ([{"role": "robot", "content": "x"}], "messages[0].role: expected one of system/developer/"),
        (
            [{"content": "x"}],
            "messages[0].role: expected one of system/developer/user/assistant/tool/function, found no role",
        ),
        (["hello"], "messages[0]: expected a message object with a role, found a string"),
        (
            [{"role": "user", "content": 7}],
            "messages[0].content: expected a string, a list of parts or null, found a number",
        ),
        (
            [{"role": "assistant", "tool_calls": "ls"}],
            "messages[0].tool_calls: expected a list of tool calls or null",
        ),
        (
            [{"role": "assistant", "tool_calls": [{"id": "a"}]}],
            "messages[0].tool_calls[0].function: expected an object",
        ),
        (
            [{"role": "assistant", "tool_calls": [call("a", "", "{}")]}],
            "tool_calls[0].function.name: expected a non-empty",
        ),
        (
            [{"role": "tool", "tool_call_id": "zz", "content": "x"}],
            "messages[0]: a tool result (tool_call_id 'zz') with no tool call",
        ),
    ],
)
def test_wrong_shapes_raise_format_errors_that_say_where(
    tmp_path: Path, record: object, message: str
) -> None:
    error = error_of(tmp_path, chat(), record)
    assert error.record == 2
    assert message in str(error)


def test_unknown_role_is_quoted(tmp_path: Path) -> None:
    error = error_of(tmp_path, chat({"role": "robot", "content": "beep"}))
    assert (
        "messages[3].role: expected one of system/developer/user/assistant/tool/function, found 'robot'"
        in str(error)
    )
