"""SWE-agent `.traj` files: one JSON object with a `trajectory` of action/observation steps.

Every trajectory step becomes one step: `thought` as written, the `action` text (stripped) as
`bash {"command": ...}`, its `observation`, and `execution_time` as the duration. SWE-agent
actions are shell-like tool commands (`open x.py`, `edit 10:12 ... end_of_edit`, `submit`);
function-calling configs record the same command text, so both read alike, and the action
classifier (not this reader) decides what each command does. An empty action is a step
flagged `malformed` (the model produced no command), with the raw `response` as its thought.
An observation that reports a killed command (a timeout) is marked as an error; a non-zero
exit is not, because SWE-agent does not record exit codes and a failing test is legitimate.

Rollout fields: `info.exit_status` as written (`submitted`, `exit_cost`, `exit_context`,
`exit_format`, `early_exit`, ...), `info.submission` as the final diff, tokens from
`info.model_stats`, the model from `replay_config` (a JSON string in most versions), the
task id from `replay_config.problem_statement.id` or else the file name, and the problem
statement (or the first user message of `history`) as the task instruction.

Retry agents (`agent.type: retry`) save every attempt under `attempts` (each with its own
`trajectory` and `info`) and copy the chosen one to the top level with
`info.best_attempt_idx`. Each attempt is imported as its own rollout, because independent
attempts at one task are exactly what preference pairs are mined from; the top-level copy is
skipped so the chosen attempt is not imported twice. The attempt shows up as `source.record`
(1-based) and as `seed` (the 0-based index SWE-agent names its `attempt_N` folders by);
`policy` stays the model name and `exit_status` the attempt's own status, so attempts group
with other rollouts of the same model and status-based checks still see harness statuses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.formats.base import FormatError, ReadOptions
from core.formats.common import (
    describe,
    dict_or_empty,
    expect,
    float_or_none,
    has_json_key,
    int_or_none,
    observation,
    optional_text,
    read_json_document,
    sniff_json,
    starts_json,
    task_id_from_path,
    text_of,
)
from core.schema import Observation, Rollout, Source, Step, Task, ToolCall

NAME = "swe-agent"
TOP_LEVEL_KEYS = ("info", "history", "replay_config", "environment")
TIMEOUT_MARKERS = ("was cancelled because it took more than", "EXECUTION TIMED OUT")
EMPTY_ACTION = "empty action: the turn had no command"


def sniff(sample: str) -> bool:
    """A `trajectory` list beside SWE-agent's other top-level keys, or a retry agent's `attempts`."""
    kind, value = sniff_json(sample)
    if kind == "document":
        return isinstance(value, dict) and _is_traj(value)
    if kind == "lines" or not starts_json(sample, "{"):
        return False
    if has_json_key(sample, "attempts", r"\["):
        return True
    return has_json_key(sample, "trajectory", r"\[") and any(
        has_json_key(sample, key) for key in ("action", *TOP_LEVEL_KEYS)
    )


def _is_traj(value: dict) -> bool:
    if "attempts" in value:
        return True
    return "trajectory" in value and any(key in value for key in TOP_LEVEL_KEYS)


def read(path: Path, options: ReadOptions) -> Iterator[Rollout]:
    data = read_json_document(path)
    if not isinstance(data, dict) or not ("trajectory" in data or "attempts" in data):
        found = "an object with neither" if isinstance(data, dict) else describe(data)
        expected = (
            'a SWE-agent trajectory: an object with a "trajectory" list (or a retry agent\'s "attempts")'
        )
        raise FormatError(path, 1, f"expected {expected}; found {found}")
    context = _Context(path, data)
    if "attempts" not in data:
        yield _rollout(context, data, options, record=1, where="", attempt=None)
        return
    attempts = expect(data["attempts"], list, context.path, 1, "attempts", "a list of attempts")
    if not attempts:
        raise FormatError(path, 1, "attempts: the retry agent has not finished any attempt yet (empty list)")
    for index, attempt_data in enumerate(attempts):
        expect(
            attempt_data, dict, path, index + 1, f"attempts[{index}]", "an object with trajectory and info"
        )
        yield _rollout(
            context, attempt_data, options, record=index + 1, where=f"attempts[{index}].", attempt=index
        )


class _Context:
    """What the whole file says about every rollout in it: task and run configuration."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.replay = _replay_config(data.get("replay_config"))
        problem = dict_or_empty(self.replay.get("problem_statement"))
        task_id = (
            problem.get("id") or data.get("instance_id") or dict_or_empty(data.get("info")).get("instance_id")
        )
        self.task_id = (
            str(task_id) if isinstance(task_id, str | int) and task_id != "" else task_id_from_path(path)
        )
        text = problem.get("text") or problem.get("problem_statement")
        self.instruction = text if isinstance(text, str) else _first_user_text(data.get("history"))

    def model(self, attempt_data: dict[str, Any], attempt: int | None) -> str:
        """The model's name: the attempt's own config, else the retry agent's config for it."""
        agent = dict_or_empty(_replay_config(attempt_data.get("replay_config")).get("agent"))
        top_agent = dict_or_empty(self.replay.get("agent"))
        configs = top_agent.get("agent_configs")
        if attempt is not None and isinstance(configs, list) and configs:
            fallback = dict_or_empty(configs[attempt % len(configs)])
        else:
            fallback = top_agent
        for candidate in (agent, fallback):
            name = _model_name(dict_or_empty(candidate.get("model")))
            if name:
                return name
        return NAME


def _replay_config(value: Any) -> dict[str, Any]:
    """`replay_config` as an object; it only enriches, so unreadable config is ignored."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return {}
    return dict_or_empty(value)


def _model_name(model: dict[str, Any]) -> str:
    name = model.get("name", model.get("model_name"))
    return name if isinstance(name, str) else ""


def _first_user_text(history: Any) -> str:
    """The first user message of `history` that is not a demonstration: the rendered task."""
    if not isinstance(history, list):
        return ""
    for entry in history:
        if not isinstance(entry, dict) or entry.get("role") != "user" or entry.get("is_demo"):
            continue
        content = entry.get("content")
        if isinstance(content, str | list):
            return text_of(content)
    return ""


def _rollout(
    context: _Context,
    data: dict[str, Any],
    options: ReadOptions,
    record: int,
    where: str,
    attempt: int | None,
) -> Rollout:
    path = context.path
    if "trajectory" not in data:
        raise FormatError(path, record, f"{where}trajectory: missing (expected a list of steps)")
    trajectory = expect(data["trajectory"], list, path, record, f"{where}trajectory", "a list of steps")
    info = expect(data.get("info", {}), dict, path, record, f"{where}info", "an object")
    stats = dict_or_empty(info.get("model_stats"))
    steps = [
        _step(path, record, f"{where}trajectory[{i}]", i, item, options) for i, item in enumerate(trajectory)
    ]
    return Rollout(
        task_id=context.task_id,
        policy=context.model(data, attempt),
        seed=attempt,
        source=Source(path=str(path), format=NAME, record=record),
        steps=steps,
        tokens_in=int_or_none(stats.get("tokens_sent")),
        tokens_out=int_or_none(stats.get("tokens_received")),
        exit_status=optional_text(info.get("exit_status"), path, record, f"{where}info.exit_status"),
        final_diff=optional_text(info.get("submission"), path, record, f"{where}info.submission"),
        task=Task(id=context.task_id, instruction=context.instruction) if context.instruction else None,
    )


def _step(path: Path, record: int, where: str, index: int, item: Any, options: ReadOptions) -> Step:
    """One trajectory entry; fields the step is made of must have the right types."""
    expect(item, dict, path, record, where, "an object with action, observation and thought")
    action = optional_text(item.get("action"), path, record, f"{where}.action").strip()
    thought = optional_text(item.get("thought"), path, record, f"{where}.thought")
    duration = item.get("execution_time")
    if duration is not None:
        expect(duration, (int, float), path, record, f"{where}.execution_time", "a number of seconds or null")
    step = Step(index=index, thought=thought, duration_s=float_or_none(duration))
    if action:
        step.tool_call = ToolCall(name="bash", arguments={"command": action})
    else:
        step.malformed = EMPTY_ACTION
        step.thought = thought or optional_text(item.get("response"), path, record, f"{where}.response")
    step.observation = _observation(item.get("observation"), path, record, f"{where}.observation", options)
    return step


def _observation(value: Any, path: Path, record: int, where: str, options: ReadOptions) -> Observation | None:
    if value is None:
        return None
    text = expect(value, str, path, record, where, "a string or null")
    timed_out = any(marker in text for marker in TIMEOUT_MARKERS)
    return observation(text, options, error=timed_out)
