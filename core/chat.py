"""The one rendering of a rollout as chat messages, shared by the policies and the export.

A policy acts on exactly the prompt that DPO later trains on: the user's instruction, then
each step as an assistant turn with one tool call and the tool's answer. Long observations
are cut the same way in both places (`max_observation_chars`), so the trained preferences
apply to what the policy really sees.
"""

from __future__ import annotations

import json
from typing import Any

from core.schema import Step
from core.text import strip_ansi


def assistant_message(step: Step) -> dict[str, Any]:
    if step.tool_call is None:
        return {"role": "assistant", "content": step.thought}
    arguments = (
        step.tool_call.raw if step.malformed and step.tool_call.raw else json.dumps(step.tool_call.arguments)
    )
    return {
        "role": "assistant",
        "content": step.thought,
        "tool_calls": [
            {
                "id": f"call_{step.index}",
                "type": "function",
                "function": {"name": step.tool_call.name, "arguments": arguments},
            }
        ],
    }


def observation_text(step: Step, max_chars: int = 0) -> str:
    """What the model is shown of an observation: escapes stripped, the middle cut if long."""
    content = strip_ansi(step.observation.content) if step.observation else ""
    if max_chars and len(content) > max_chars:
        half = max_chars // 2
        content = f"{content[:half]}\n[… {len(content) - 2 * half} characters not shown …]\n{content[-half:]}"
    return content


def step_messages(step: Step, max_observation_chars: int = 0) -> list[dict[str, Any]]:
    messages = [assistant_message(step)]
    if step.observation is not None:
        content = observation_text(step, max_observation_chars)
        if step.tool_call is not None:
            messages.append({"role": "tool", "tool_call_id": f"call_{step.index}", "content": content})
        else:  # a malformed turn: the harness answers as the user, as mini-swe-agent does
            messages.append({"role": "user", "content": content})
    return messages


def conversation(instruction: str, steps: list[Step], max_observation_chars: int = 0) -> list[dict[str, Any]]:
    """The prompt a policy acts on after `steps`: the instruction, then every step so far."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": instruction}]
    for step in steps:
        messages.extend(step_messages(step, max_observation_chars))
    return messages
