import json

import pytest

from core.formats import FormatError, ReadOptions, detect, read_rollouts
from core.formats.native import VERSION, dump
from core.schema import Observation, Rollout, Step, ToolCall


def write(tmp_path, lines, name="r.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def record(**over):
    base = {
        "format": VERSION,
        "task_id": "t1",
        "policy": "p",
        "seed": 3,
        "steps": [
            {
                "index": 0,
                "tool_call": {"name": "bash", "arguments": {"command": "pytest"}},
                "observation": {"content": "1 failed", "exit_code": 1},
            },
        ],
        "tests_passed": False,
        "exit_status": "submitted",
    }
    return json.dumps({**base, **over})


def test_reads_records_with_their_line_numbers(tmp_path):
    path = write(tmp_path, [record(), "", record(seed=4)])
    assert detect(path) == "native"
    rollouts = list(read_rollouts(path))
    assert [r.source.record for r in rollouts] == [1, 3]
    assert rollouts[1].seed == 4
    assert rollouts[0].steps[0].observation.exit_code == 1


def test_dump_reads_back(tmp_path):
    rollout = Rollout(
        task_id="t",
        steps=[Step(index=0, tool_call=ToolCall(name="ls"), observation=Observation(content="a"))],
    )
    path = write(tmp_path, [json.dumps(dump(rollout))])
    assert next(iter(read_rollouts(path))).steps == rollout.steps


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"format": "agentpref.rollout/1", "task_id": "t", "steps": [', "line 2|record 2"),
        (record(steps="not a list"), "steps: Input should be a valid"),
        (record(task_id=None), "task_id"),
        (json.dumps({"format": "agentpref.rollout/9", "task_id": "t"}), 'expected "format"'),
        ("[1, 2]", "expected a JSON object"),
        (record(steps=[{"index": "x"}]), "steps.0.index"),
        (record(surprise=1), "surprise: Extra inputs"),
    ],
)
def test_bad_records_name_file_line_and_what_was_expected(tmp_path, line, expected):
    path = write(tmp_path, [record(), line])
    with pytest.raises(FormatError) as info:
        list(read_rollouts(path, "native"))
    message = str(info.value)
    assert str(path) in message and "record 2" in message
    assert any(part in message for part in expected.split("|"))


def test_nul_bytes_replaced_and_huge_observations_cut(tmp_path):
    big = "HEAD" + "x" * 3_000_000 + "TAIL"
    steps = [
        {"index": 0, "observation": {"content": "a\u0000b\u001b[31m"}},
        {"index": 1, "observation": {"content": big}},
    ]
    path = write(tmp_path, [record(steps=steps)])
    rollout = next(read_rollouts(path, options=ReadOptions(max_observation_bytes=10_000)))
    assert "\x00" not in rollout.steps[0].observation.content
    assert "\x1b[31m" in rollout.steps[0].observation.content
    cut = rollout.steps[1].observation
    assert cut.truncated_bytes > 2_900_000
    assert cut.content.startswith("HEAD") and cut.content.endswith("TAIL")


def test_unknown_format_is_named(tmp_path):
    path = write(tmp_path, ['{"hello": "world"}'], name="mystery.json")
    with pytest.raises(FormatError, match="unknown format"):
        detect(path)
    with pytest.raises(FormatError, match="unknown format 'csv'"):
        list(read_rollouts(path, "csv"))
