"""detect(): each harness's files are recognised, look-alikes are not, unknown JSON is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.formats import FormatError, detect, read_rollouts

FIXTURES = Path(__file__).parent / "fixtures"
FILLER = "x" * 70_000  # pushes a document past the 64 KiB sample, so it no longer parses whole


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("openai_chat.jsonl", "openai"),
        ("openai_conversation.json", "openai"),
        ("astropy__astropy-13033.traj", "swe-agent"),
        ("astropy__astropy-13033-retry.traj", "swe-agent"),
        ("django__django-11099.traj.json", "mini-swe-agent"),
        ("mini_textbased.traj.json", "mini-swe-agent"),
        ("mini_legacy.traj.json", "mini-swe-agent"),
    ],
)
def test_each_fixture_is_recognised(name: str, expected: str) -> None:
    assert detect(FIXTURES / name) == expected


@pytest.mark.parametrize(
    ("name", "count"),
    [("openai_chat.jsonl", 3), ("astropy__astropy-13033-retry.traj", 2), ("mini_legacy.traj.json", 1)],
)
def test_auto_detection_reads_the_file(name: str, count: int) -> None:
    assert len(list(read_rollouts(FIXTURES / name))) == count


def test_unknown_json_is_refused() -> None:
    with pytest.raises(FormatError, match="unknown format") as caught:
        detect(FIXTURES / "unknown.json")
    assert caught.value.path.endswith("unknown.json")


@pytest.mark.parametrize(
    "content", ["", "not json at all\n", "[]", '{"messages": []}', "[1, 2, 3]", '{"trajectory": []}']
)
def test_other_content_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(FormatError):
        detect(path)


def test_native_is_still_first(tmp_path: Path) -> None:
    path = tmp_path / "native.jsonl"
    path.write_text(
        json.dumps({"format": "agentpref.rollout/1", "task_id": "t", "messages": [{"role": "user"}]}) + "\n"
    )
    assert detect(path) == "native"


def test_chat_jsonl_that_mentions_mini_markers_is_openai(tmp_path: Path) -> None:
    """Conversations exported from mini-swe-agent runs into OpenAI JSONL are OpenAI files now."""
    messages = [
        {"role": "user", "content": "finish with echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"},
        {"role": "assistant", "content": "```mswea_bash_command\nls\n```"},
    ]
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps({"messages": messages}) + "\n" + json.dumps(messages) + "\n")
    assert detect(path) == "openai"


def test_bare_message_list_without_mini_markers_is_openai(tmp_path: Path) -> None:
    path = tmp_path / "chat.json"
    path.write_text(
        json.dumps([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}])
    )
    assert detect(path) == "openai"


def test_swe_agent_step_that_talks_about_mini_swe_agent_keys_is_swe_agent(tmp_path: Path) -> None:
    """Escaped text inside strings is not structure, even past the sample where nothing parses."""
    observation = '{"trajectory_format": "mini-swe-agent-1.1", "mini_version": "2.0"}' + FILLER
    data = {"trajectory": [{"action": "cat traj.json", "observation": observation}], "info": {}}
    path = tmp_path / "big.traj"
    path.write_text(json.dumps(data, indent=2))
    assert detect(path) == "swe-agent"


def test_large_mini_trajectory_is_recognised_by_its_config(tmp_path: Path) -> None:
    data = {
        "info": {"config": {"agent_type": "minisweagent.agents.default.DefaultAgent"}, "submission": FILLER},
        "messages": [],
        "trajectory_format": "mini-swe-agent-1.1",
    }
    path = tmp_path / "big.traj.json"
    path.write_text(json.dumps(data, indent=2))
    assert detect(path) == "mini-swe-agent"


def test_large_pretty_printed_chat_is_openai(tmp_path: Path) -> None:
    data = {"messages": [{"role": "user", "content": FILLER}, {"role": "assistant", "content": "ok"}]}
    path = tmp_path / "big.json"
    path.write_text(json.dumps(data, indent=2))
    assert detect(path) == "openai"
