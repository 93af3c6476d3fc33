"""The rendering every policy and the export share: observations cut alike, and the state note
after each one counting the whole history."""

from core.chat import Rendering, conversation, state_notes
from core.config import PolicyConfig
from core.schema import Observation, Step, ToolCall


def step(i, name, args=None, content="", exit_code=None, error=False):
    return Step(
        index=i,
        tool_call=ToolCall(name=name, arguments=args or {}),
        observation=Observation(content=content, exit_code=exit_code, error=error),
    )


EDIT = {"path": "a.py", "old": "1", "new": "2"}
STEPS = [
    step(0, "read_file", {"path": "a.py"}, "x = 1"),
    step(1, "read_file", {"path": "nope.py"}, "no such file", error=True),
    step(2, "run_tests", content="1 failed", exit_code=1),
    step(3, "edit", EDIT, "edited a.py"),
    step(4, "run_tests", content="1 passed", exit_code=0),
    step(5, "edit", {"path": "a.py", "old": "zzz", "new": "y"}, "old text not found", error=True),
    step(6, "edit", EDIT, "edited a.py"),
]


def test_each_note_is_the_state_after_its_own_step():
    assert state_notes(STEPS) == [
        "[state] read 1 file(s); no edit yet; last test run: none",
        "[state] read 1 file(s); no edit yet; last test run: none",  # a failed read reads nothing
        "[state] read 1 file(s); no edit yet; last test run: failed",
        "[state] read 1 file(s); tests not run since the edit; last test run: failed",
        "[state] read 1 file(s); tests run since the edit; last test run: passed",
        # a failed edit changes nothing
        "[state] read 1 file(s); tests run since the edit; last test run: passed",
        "[state] read 1 file(s); tests not run since the edit; last test run: passed",
    ]


def test_notes_follow_the_observations_only_when_asked():
    plain = conversation("Fix a.py", STEPS[:3])
    noted = conversation("Fix a.py", STEPS[:3], Rendering(state_notes=True))
    assert not any("[state]" in m.get("content", "") for m in plain)
    tools = [m["content"] for m in noted if m["role"] == "tool"]
    assert tools[-1] == "1 failed\n[state] read 1 file(s); no edit yet; last test run: failed"
    assert [m["role"] for m in noted] == [m["role"] for m in plain]


def test_a_conversation_only_grows_as_the_rollout_goes_on():
    """Each prompt begins with the one before it, so a kept context cache stays valid."""
    rendering = Rendering(state_notes=True)
    for k in range(1, len(STEPS)):
        before, after = (
            conversation("Fix", STEPS[:k], rendering),
            conversation("Fix", STEPS[: k + 1], rendering),
        )
        assert after[: len(before)] == before


def test_steps_left_out_of_a_full_context_still_count_in_the_notes():
    shown = conversation("Fix", STEPS, Rendering(state_notes=True), first=4)
    assert [m["role"] for m in shown] == ["user"] + ["assistant", "tool"] * 3
    assert (
        shown[2]["content"]
        == "1 passed\n[state] read 1 file(s); tests run since the edit; last test run: passed"
    )


def test_the_workspace_policy_decides_the_rendering():
    assert Rendering.of(PolicyConfig(max_observation_chars=50, state_notes=True)) == Rendering(50, True)
    long = step(0, "read_file", {"path": "a.py"}, "x" * 500)
    (_, _, tool) = conversation("Fix", [long], Rendering(max_observation_chars=50))
    assert len(tool["content"]) < 100 and "characters not shown" in tool["content"]
