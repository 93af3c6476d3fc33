"""Reading one tool call out of a model's free text.

Models write calls as Hermes/Qwen `<tool_call>{json}</tool_call>` blocks, as a bare JSON
object, or inside a fenced ```json block. Anything else is a protocol violation: the turn is
kept, with its raw text and the reason, as a `protocol.malformed` step.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from core.schema import ToolCall

TOOL_CALL_RE = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
FENCED_RE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.S)


@dataclass(frozen=True)
class Parsed:
    thought: str
    tool_call: ToolCall | None
    malformed: str | None


def parse_turn(text: str, tool_names: frozenset[str] | None = None) -> Parsed:
    """The one tool call in `text`, or the reason there is none."""
    blocks = TOOL_CALL_RE.findall(text)
    if blocks:
        thought = text[: text.index("<tool_call>")].strip()
        if len(blocks) > 1:
            return Parsed(thought, None, f"expected one tool call per turn, found {len(blocks)}")
        return _from_json(blocks[0], thought, tool_names)
    fenced = FENCED_RE.findall(text)
    if len(fenced) == 1:
        return _from_json(fenced[0], text[: text.index("```")].strip(), tool_names)
    start = text.find("{")
    if start >= 0:
        return _from_json(text[start:].strip(), text[:start].strip(), tool_names)
    return Parsed(text.strip(), None, "no tool call in the assistant turn")


def _from_json(blob: str, thought: str, tool_names: frozenset[str] | None) -> Parsed:
    try:
        value: Any = json.loads(blob)
    except json.JSONDecodeError as exc:
        raw = ToolCall(name="", raw=blob)
        return Parsed(thought, raw, f"the tool call is not valid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return Parsed(thought, None, 'the tool call must be a JSON object with a "name"')
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):
        text = arguments
        try:
            arguments = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError:
            call = ToolCall(name=value["name"], raw=text)
            return Parsed(thought, call, f"arguments of {value['name']} are not valid JSON")
    if not isinstance(arguments, dict):
        return Parsed(
            thought, ToolCall(name=value["name"], raw=json.dumps(arguments)), "arguments must be an object"
        )
    call = ToolCall(name=value["name"], arguments=arguments)
    if tool_names is not None and call.name not in tool_names:
        return Parsed(thought, call, f"unknown tool {call.name!r}")
    return Parsed(thought, call, None)
