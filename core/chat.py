"""The one rendering of a rollout as chat messages, shared by the policies and the export.

A policy acts on exactly the prompt that DPO later trains on: the user's instruction, then
each step as an assistant turn with one tool call and the tool's answer. Long observations
are cut the same way in both places, and the state notes are written the same way
(`Rendering`), so the trained preferences apply to what the policy really sees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from core.actions import classify, effects
from core.checks.common import run_outcome
from core.config import PolicyConfig
from core.schema import ActionKind, Step
from core.text import strip_ansi


@dataclass(frozen=True)
class Rendering:
    """How observations are shown: cut to `max_observation_chars` (0: whole), and each followed
    by a state note (`state_notes`) where that is on."""

    max_observation_chars: int = 0
    state_notes: bool = False

    @classmethod
    def of(cls, policy: PolicyConfig) -> Rendering:
        return cls(policy.max_observation_chars, policy.state_notes)


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


def step_messages(step: Step, max_observation_chars: int = 0, note: str = "") -> list[dict[str, Any]]:
    """The assistant turn and the answer to it, the answer followed by `note` where given."""
    messages = [assistant_message(step)]
    if step.observation is not None:
        content = observation_text(step, max_observation_chars)
        if note:
            content = f"{content}\n{note}"
        if step.tool_call is not None:
            messages.append({"role": "tool", "tool_call_id": f"call_{step.index}", "content": content})
        else:  # a malformed turn: the harness answers as the user, as mini-swe-agent does
            messages.append({"role": "user", "content": content})
    return messages


def steps_messages(
    steps: list[Step], rendering: Rendering, before: list[Step] | None = None
) -> list[dict[str, Any]]:
    """`steps` as messages, each answer followed by its state note where notes are on; `before`
    are the steps already shown, which the first note counts."""
    notes = state_notes([*(before or []), *steps])[len(before or []) :] if rendering.state_notes else []
    messages: list[dict[str, Any]] = []
    for i, step in enumerate(steps):
        messages.extend(step_messages(step, rendering.max_observation_chars, notes[i] if notes else ""))
    return messages


def conversation(
    instruction: str, steps: list[Step], rendering: Rendering | None = None, first: int = 0
) -> list[dict[str, Any]]:
    """The prompt a policy acts on after `steps`: the instruction, then every step so far from
    `first` (the older ones left out where a context is full; the notes still count them)."""
    shown = steps_messages(steps[first:], rendering or Rendering(), before=steps[:first])
    return [{"role": "user", "content": instruction}, *shown]


@dataclass(frozen=True)
class AgentState:
    """Where the agent stands after a step: files read, whether it has edited and run the tests
    since its last edit, and how the last test run ended (`passed`, `failed`, `unknown`, `none`)."""

    reads: int = 0
    edited: bool = False
    tested_since_edit: bool = False
    last_run: str = "none"

    @property
    def note(self) -> str:
        if not self.edited:
            since = "no edit yet"
        else:
            since = "tests run since the edit" if self.tested_since_edit else "tests not run since the edit"
        return f"[state] read {self.reads} file(s); {since}; last test run: {self.last_run}"


def agent_states(steps: list[Step]) -> list[AgentState]:
    """The state after each step; failed reads and edits change nothing, and a test run's outcome
    is judged as the checks judge it (the runner's exit code, else its printed summary)."""
    states: list[AgentState] = []
    state = AgentState()
    for step in steps:
        action = classify(step.tool_call) if step.tool_call is not None else None
        answered = step.observation is not None and not step.observation.error
        if action is not None and action.kind is ActionKind.EDIT and answered:
            state = replace(state, edited=True, tested_since_edit=False)
        elif action is not None and action.kind is ActionKind.TEST and step.tool_call is not None:
            outcome = run_outcome(step, effects(step.tool_call, action.command))
            last = {True: "passed", False: "failed", None: "unknown"}[outcome]
            state = replace(state, tested_since_edit=True, last_run=last)
        elif action is not None and action.kind is ActionKind.READ and answered:
            state = replace(state, reads=state.reads + 1)
        states.append(state)
    return states


def state_notes(steps: list[Step]) -> list[str]:
    """After each step, one line on where the agent stands (`AgentState.note`).

    A harness's summary of the agent's state, as SWE-agent shows the open file after every
    command. A large model can work this out from the history; a small one, reading only the
    last few dozen tokens (the demo's model attends within a window), cannot, and then learns
    which action is good but never when (README, "The demo's own result"). History is only
    ever appended to: each note is the state after its own step, never rewritten.
    """
    return [state.note for state in agent_states(steps)]
