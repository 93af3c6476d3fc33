import json

import pytest

from core.chat import Rendering, conversation
from core.export import NotExportable, preference_row
from core.granularity import Granularity
from core.prefix import divergence
from core.schema import Observation, Rollout, Step, ToolCall


def rollout(rid, calls):
    steps = []
    for i, (name, args, obs) in enumerate(calls):
        steps.append(
            Step(
                index=i,
                thought=f"t{i}",
                tool_call=ToolCall(name=name, arguments=args),
                observation=Observation(content=obs),
            )
        )
    return Rollout(id=rid, task_id="t", steps=steps)


SHARED = [("read_file", {"path": "a.py"}, "x = 1"), ("run_tests", {}, "1 failed")]
GOOD = rollout(
    "good", [*SHARED, ("edit", {"path": "a.py", "old": "1", "new": "2"}, "ok"), ("run_tests", {}, "ok")]
)
BAD = rollout(
    "bad", [*SHARED, ("edit", {"path": "README.md", "old": "a", "new": "b"}, "ok"), ("finish", {}, "")]
)


def test_shared_prefix_is_the_prompt_and_the_next_turn_the_completion():
    row = preference_row(GOOD, BAD, Granularity.STEP, instruction="Fix a.py")
    assert divergence(GOOD, BAD) == 2
    assert row["prompt"][0] == {"role": "user", "content": "Fix a.py"}
    roles = [m["role"] for m in row["prompt"]]
    assert roles == ["user", "assistant", "tool", "assistant", "tool"]
    assert len(row["chosen"]) == len(row["rejected"]) == 1
    chosen_call = row["chosen"][0]["tool_calls"][0]["function"]
    assert chosen_call["name"] == "edit"
    assert json.loads(chosen_call["arguments"]) == {"path": "a.py", "old": "1", "new": "2"}
    assert json.loads(row["rejected"][0]["tool_calls"][0]["function"]["arguments"])["path"] == "README.md"


def test_trajectory_completion_is_the_whole_remainder():
    row = preference_row(GOOD, BAD, Granularity.TRAJECTORY)
    assert [m["role"] for m in row["chosen"]] == ["assistant", "tool", "assistant", "tool"]
    assert row["rejected"][-2]["tool_calls"][0]["function"]["name"] == "finish"


def test_harness_rollouts_carry_the_harness_tool_schemas():
    from core.agent.tools import TOOL_SCHEMAS

    assert json.loads(preference_row(GOOD, BAD)["tools"]) == TOOL_SCHEMAS


def test_imported_rollouts_get_schemas_inferred_from_their_calls():
    a = rollout("a", [("bash", {"command": "pytest"}, "ok"), ("open_file", {"path": "x", "line": 3}, "")])
    b = rollout("b", [("bash", {"command": "ls"}, "a.py")])
    tools = json.loads(preference_row(a, b)["tools"])
    assert [t["function"]["name"] for t in tools] == ["bash", "open_file"]
    assert tools[1]["function"]["parameters"]["properties"] == {
        "line": {"type": "integer"},
        "path": {"type": "string"},
    }


def test_identical_or_prefix_rollouts_are_not_exportable():
    with pytest.raises(NotExportable):
        preference_row(GOOD, GOOD)
    with pytest.raises(NotExportable, match="do not diverge"):
        preference_row(GOOD, rollout("short", SHARED))


def test_ansi_codes_are_stripped_from_tool_messages():
    a = rollout("a", [("bash", {"command": "pytest"}, "\x1b[31mFAILED\x1b[0m")])
    b = rollout("b", [("bash", {"command": "ls"}, "a.py")])
    row = preference_row(a, b, Granularity.TRAJECTORY)
    assert row["chosen"][1]["content"] == "FAILED"


def test_state_notes_in_a_row_are_the_policys_and_count_the_shared_prefix():
    rendering = Rendering(state_notes=True)
    row = preference_row(GOOD, BAD, Granularity.TRAJECTORY, instruction="Fix a.py", rendering=rendering)
    assert row["prompt"] == conversation("Fix a.py", GOOD.steps[:2], rendering)
    assert (
        row["prompt"][-1]["content"] == "1 failed\n[state] read 1 file(s); no edit yet; last test run: failed"
    )
    # "ok" says nothing a runner prints: the outcome is unknown, and the note says so
    assert row["chosen"][-1]["content"].endswith("tests run since the edit; last test run: unknown")
    assert row["rejected"][1]["content"].endswith(
        "read 1 file(s); tests not run since the edit; last test run: failed"
    )
