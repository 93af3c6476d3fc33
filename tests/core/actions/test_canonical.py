"""Canonical actions: every harness's tool call, structured or shell, maps to the same kinds.

How shell command lines are read is tested in test_shell.py.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from core.actions import classify, classify_steps, normalize_path
from core.schema import ActionKind, Rollout, Step, ToolCall

K = ActionKind


def shell(command: str, tool: str = "bash") -> ToolCall:
    return ToolCall(name=tool, arguments={"command": command})


@pytest.mark.parametrize(
    "tool", ["bash", "shell", "execute_bash", "run", "terminal", "cmd", "functions.Bash", "mcp__box__bash"]
)
def test_every_shell_tool_name_is_parsed(tool: str) -> None:
    action = classify(shell("cat a.py", tool=tool))
    assert action is not None and action.kind == K.READ and action.paths == ["a.py"]


@pytest.mark.parametrize("key", ["cmd", "script"])
def test_shell_command_under_other_keys(key: str) -> None:
    action = classify(ToolCall(name="bash", arguments={key: "pytest -q"}))
    assert action is not None and action.kind == K.TEST


def test_codex_style_argv_list_is_unwrapped() -> None:
    call = ToolCall(name="shell", arguments={"command": ["bash", "-lc", "sed -i 's/a/b/' x.py"]})
    action = classify(call)
    assert action is not None and action.kind == K.EDIT and action.paths == ["x.py"]


# (tool name, arguments, kind, paths, creates)
STRUCTURED_CASES: list[tuple[str, dict[str, Any], K, list[str], bool]] = [
    ("list_files", {"path": "src"}, K.LIST, ["src"], False),
    ("ls", {"dir": "."}, K.LIST, ["."], False),
    ("list_dir", {"directory": "/workspace/lib"}, K.LIST, ["lib"], False),
    ("find_file", {"file_name": "calc.py"}, K.LIST, [], False),
    ("read_file", {"path": "/testbed/src/a.py"}, K.READ, ["src/a.py"], False),
    ("open_file", {"file": "a.py"}, K.READ, ["a.py"], False),
    ("view", {"file_path": "./a.py"}, K.READ, ["a.py"], False),
    ("cat", {"filename": "a.py"}, K.READ, ["a.py"], False),
    ("search", {"query": "def add", "path": "src"}, K.SEARCH, ["src"], False),
    ("grep", {"pattern": "x", "paths": ["a.py", "b.py"]}, K.SEARCH, ["a.py", "b.py"], False),
    ("search_dir", {"search_term": "x"}, K.SEARCH, [], False),
    ("search_file", {"search_term": "x", "file": "a.py"}, K.SEARCH, ["a.py"], False),
    ("edit", {"path": "a.py", "old": "x", "new": "y"}, K.EDIT, ["a.py"], False),
    ("str_replace", {"path": "a.py"}, K.EDIT, ["a.py"], False),
    ("replace", {"target": "a.py"}, K.EDIT, ["a.py"], False),
    ("insert", {"path": "a.py", "line": 3}, K.EDIT, ["a.py"], False),
    ("apply_patch", {"patch": "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"}, K.EDIT, ["x.py"], False),
    (
        "apply_patch",
        {"input": "*** Begin Patch\n*** Add File: new.py\n+x\n*** End Patch"},
        K.EDIT,
        ["new.py"],
        True,
    ),
    ("create_file", {"path": "new.py", "content": "x"}, K.EDIT, ["new.py"], True),
    ("write_file", {"path": "out.py", "content": "x"}, K.EDIT, ["out.py"], True),
    ("str_replace_editor", {"command": "view", "path": "/testbed/a.py"}, K.READ, ["a.py"], False),
    (
        "str_replace_editor",
        {"command": "create", "path": "/testbed/n.py", "file_text": "x"},
        K.EDIT,
        ["n.py"],
        True,
    ),
    (
        "str_replace_editor",
        {"command": "str_replace", "path": "a.py", "old_str": "x"},
        K.EDIT,
        ["a.py"],
        False,
    ),
    ("str_replace_based_edit_tool", {"command": "insert", "path": "a.py"}, K.EDIT, ["a.py"], False),
    ("str_replace_editor", {"command": "undo_edit", "path": "a.py"}, K.EDIT, ["a.py"], False),
    ("run_tests", {}, K.TEST, [], False),
    ("pytest", {"args": "-x"}, K.TEST, [], False),
    ("finish", {}, K.FINISH, [], False),
    ("submit", {}, K.FINISH, [], False),
    ("stop", {}, K.FINISH, [], False),
    ("done", {}, K.FINISH, [], False),
    ("task_complete", {"summary": "ok"}, K.FINISH, [], False),
    ("think", {"thought": "hmm"}, K.OTHER, [], False),
    ("browser", {"url": "http://x"}, K.OTHER, [], False),
]


@pytest.mark.parametrize(
    ("tool", "arguments", "kind", "paths", "creates"),
    STRUCTURED_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(STRUCTURED_CASES)],
)
def test_structured_tools(
    tool: str, arguments: dict[str, Any], kind: K, paths: list[str], creates: bool
) -> None:
    action = classify(ToolCall(name=tool, arguments=arguments))
    assert action is not None
    assert (action.kind, action.kinds, action.paths, action.creates) == (kind, [kind], paths, creates)


def test_missing_command_argument_falls_back_to_raw_text() -> None:
    action = classify(ToolCall(name="bash", arguments={}, raw="cat a.py"))
    assert action is not None and action.kind == K.READ


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("./a.py", "a.py"),
        ("src/../lib/a.py", "lib/a.py"),
        ("/testbed/src/a.py", "src/a.py"),
        ("/repo/a.py", "a.py"),
        ("/workspace/a.py", "a.py"),
        ("/app/a.py", "a.py"),
        ("/testbed", "."),
        ("/testbedx/a.py", "/testbedx/a.py"),
        ("/etc/passwd", "/etc/passwd"),
        ("/testbed/../etc/passwd", "/etc/passwd"),
        ("../outside.py", "../outside.py"),
        ("src//a.py", "src/a.py"),
        ("src/", "src"),
    ],
)
def test_normalize_path_is_textual_and_repo_relative(path: str, expected: str) -> None:
    assert normalize_path(path) == expected


def test_command_text_ignores_ids_and_whitespace() -> None:
    a = classify(ToolCall(name="bash", arguments={"command": "pytest   -x\n"}, id="call_1"))
    b = classify(ToolCall(name="bash", arguments={"command": "pytest -x"}, id="call_2"))
    assert a is not None and b is not None and a.command == b.command == "pytest -x"


def test_structured_command_text_is_name_and_sorted_arguments() -> None:
    a = classify(ToolCall(name="read_file", arguments={"path": "a.py", "limit": 5}, id="x"))
    b = classify(ToolCall(name="read_file", arguments={"limit": 5, "path": "a.py"}, id="y"))
    c = classify(ToolCall(name="read_file", arguments={"limit": 6, "path": "a.py"}))
    assert a is not None and b is not None and c is not None
    assert a.command == b.command != c.command
    assert a.command.startswith("read_file ")


def test_none_call_is_none() -> None:
    assert classify(None) is None


def test_classify_steps_sets_every_step() -> None:
    rollout = Rollout(
        task_id="t",
        steps=[
            Step(index=0, tool_call=shell("cat a.py")),
            Step(index=1, tool_call=None, malformed="bad json"),
            Step(index=2, tool_call=shell("pytest")),
        ],
    )
    classify_steps(rollout)
    assert [s.action.kind if s.action else None for s in rollout.steps] == [K.READ, None, K.TEST]


def test_classification_is_fast_on_many_distinct_steps() -> None:
    calls = [shell(f"cd /testbed && grep -rn 'def f{i}' src/ | head -{i % 50}") for i in range(3000)]
    calls += [ToolCall(name="read_file", arguments={"path": f"src/m{i}.py"}) for i in range(3000)]
    start = time.perf_counter()
    for call in calls:
        classify(call)
    assert time.perf_counter() - start < 2.0  # ~0.15 s here: catches a quadratic slip, not a percent
