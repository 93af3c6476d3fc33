import pytest

from core.agent.parse import parse_turn
from core.agent.tools import TOOL_NAMES


@pytest.mark.parametrize(
    ("text", "name", "arguments", "thought"),
    [
        (
            'Let me look.<tool_call>{"name": "read_file", "arguments": {"path": "a.py"}}</tool_call>',
            "read_file",
            {"path": "a.py"},
            "Let me look.",
        ),
        ('<tool_call>\n{"name": "run_tests", "arguments": "{}"}\n</tool_call>', "run_tests", {}, ""),
        ('<tool_call>{"name": "finish", "arguments": {}}', "finish", {}, ""),  # no closing tag
        ('{"name": "search", "parameters": {"query": "mean"}}', "search", {"query": "mean"}, ""),
        (
            'I will edit.\n```json\n{"name": "list_files", "arguments": {"path": "."}}\n```',
            "list_files",
            {"path": "."},
            "I will edit.",
        ),
    ],
)
def test_tool_calls_in_the_usual_shapes(text, name, arguments, thought):
    parsed = parse_turn(text, TOOL_NAMES)
    assert parsed.malformed is None
    assert (parsed.tool_call.name, parsed.tool_call.arguments, parsed.thought) == (name, arguments, thought)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I think the bug is in mean.", "no tool call"),
        ('<tool_call>{"name": "read_file", "arguments": {"path": </tool_call>', "not valid JSON"),
        ('<tool_call>{"name": "a"}</tool_call><tool_call>{"name": "b"}</tool_call>', "found 2"),
        ('<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>', "unknown tool"),
        ('<tool_call>["read_file"]</tool_call>', 'with a "name"'),
        ('<tool_call>{"name": "edit", "arguments": "{oops"}</tool_call>', "not valid JSON"),
        ('<tool_call>{"name": "edit", "arguments": [1]}</tool_call>', "must be an object"),
    ],
)
def test_garbage_is_a_malformed_turn_not_a_crash(text, reason):
    parsed = parse_turn(text, TOOL_NAMES)
    assert parsed.malformed is not None and reason in parsed.malformed
