"""Turning a decided pair into a TRL preference row (conversational, explicit prompt).

The shared prefix of the two rollouts, up to their first divergent step, is the prompt. At
step granularity each side's completion is its next assistant turn; at trajectory
granularity it is the whole remainder. Tool-call arguments and the `tools` column are JSON
strings: Arrow would otherwise merge every row's differently shaped arguments into one
struct full of nulls, and TRL's templates accept strings for both.
"""

from __future__ import annotations

import json
from typing import Any

from core.agent.tools import TOOL_NAMES, TOOL_SCHEMAS
from core.chat import Rendering, assistant_message, conversation, steps_messages
from core.granularity import Granularity
from core.prefix import divergence
from core.schema import Rollout


class NotExportable(ValueError):
    """The pair cannot make a row (identical rollouts, or one side ends at the divergence)."""


def instruction_of(rollout: Rollout, instruction: str) -> str:
    if instruction:
        return instruction
    if rollout.task and rollout.task.instruction:
        return rollout.task.instruction
    return f"Fix the failing tests of task {rollout.task_id}."


def tool_schemas(*rollouts: Rollout) -> list[dict[str, Any]]:
    """The harness's own schemas for its rollouts (the prompt they acted under); for imported
    rollouts, a schema for every tool they called, inferred from the arguments used."""
    names = {s.tool_call.name for r in rollouts for s in r.steps if s.tool_call is not None}
    if names <= TOOL_NAMES:
        return TOOL_SCHEMAS
    properties: dict[str, dict[str, str]] = {}
    for rollout in rollouts:
        for step in rollout.steps:
            call = step.tool_call
            if call is None:
                continue
            props = properties.setdefault(call.name, {})
            for key, value in call.arguments.items():
                props.setdefault(key, _json_type(value))
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": f"The {name} tool.",
                "parameters": {
                    "type": "object",
                    "properties": {k: {"type": t} for k, t in sorted(props.items())},
                    "required": sorted(props),
                },
            },
        }
        for name, props in sorted(properties.items())
    ]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def preference_row(
    chosen: Rollout,
    rejected: Rollout,
    granularity: Granularity = Granularity.STEP,
    instruction: str = "",
    rendering: Rendering | None = None,
) -> dict[str, Any]:
    """One TRL row: prompt, chosen, rejected (message lists) and tools (a JSON string), each
    observation shown as the policy is shown it (`rendering`)."""
    rendering = rendering or Rendering()
    start = divergence(chosen, rejected)
    if start >= len(chosen.steps) or start >= len(rejected.steps):
        raise NotExportable(
            f"rollouts {chosen.id} and {rejected.id} do not diverge before one of them ends "
            f"(shared prefix of {start} steps)"
        )
    prefix = chosen.steps[:start]
    prompt = conversation(instruction_of(chosen, instruction), prefix, rendering)
    if granularity is Granularity.STEP:
        chosen_part = [assistant_message(chosen.steps[start])]
        rejected_part = [assistant_message(rejected.steps[start])]
    else:
        chosen_part = steps_messages(chosen.steps[start:], rendering, before=prefix)
        rejected_part = steps_messages(rejected.steps[start:], rendering, before=prefix)
    return {
        "prompt": prompt,
        "chosen": chosen_part,
        "rejected": rejected_part,
        "tools": json.dumps(tool_schemas(chosen, rejected)),
    }
