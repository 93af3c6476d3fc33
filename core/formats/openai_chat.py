"""OpenAI chat-completions conversations: assistant `tool_calls` and `role: "tool"` results.

Accepted files:
- `.jsonl`, one conversation per line: `{"messages": [...], ...metadata}` or a bare list of
  messages (record = the line number);
- any other name holding one JSON document: a conversation object, a bare list of messages,
  or a list of conversation objects (record = the conversation's 1-based position). A file
  that is not one document but whose first line is (JSONL named `.json`) is read as JSONL.

How messages become steps:
- each tool call of an assistant message is one step (the message's text is the first
  step's thought, its `usage` that step's token counts);
- `arguments` may be a JSON string (OpenAI) or an object (Inspect, Docent, TRL datasets);
  a string that does not parse into an object keeps the step, flagged `malformed`, with the
  text in `ToolCall.raw`: that is the model breaking the protocol, which is what we check;
- a tool result attaches to the step with its `tool_call_id`, else to the oldest step still
  waiting for one (harnesses that drop ids keep the call order);
- an assistant message without tool calls is a malformed step, except the last one after at
  least one tool call: that is how a chat agent stops, so it becomes a `finish` call;
- the legacy `function_call` / `role: "function"` pair is read as a single tool call.
System, developer and user messages are not steps; the first user message is the task.

Metadata (task id, model, exit status, patch, outcome) comes from the conversation object or
its `metadata` object. Without a task id, the id is the file stem plus a short hash of the
first user message: a file often mixes tasks, and rollouts of different tasks must never be
paired, while rollouts with the same prompt still group together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.formats.base import FormatError, ReadOptions
from core.formats.common import (
    StepList,
    dict_or_empty,
    expect,
    has_json_key,
    int_or_none,
    is_message_list,
    message_text,
    observation,
    parse_tool_call,
    read_json_document,
    read_json_lines,
    shown,
    sniff_json,
    starts_json,
    task_id_from_path,
)
from core.schema import Rollout, Source, Step, Task, ToolCall

NAME = "openai"
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
NOT_STEPS = ("system", "developer")
NO_TOOL_CALL = "no tool call in the assistant turn"
CONVERSATION = 'a conversation: an object with a "messages" list, or a list of messages'


def sniff(sample: str) -> bool:
    """Chat messages with roles: a conversation object, a list of messages or of conversations."""
    kind, value = sniff_json(sample)
    if kind in ("document", "lines"):
        return _is_chat(value)
    roles = r'"(?:system|developer|user|assistant|tool)"'
    return (starts_json(sample, "{") or starts_json(sample, "[")) and has_json_key(sample, "role", roles)


def _is_chat(value: Any) -> bool:
    if isinstance(value, dict):
        return _has_messages(value)
    if isinstance(value, list) and value:
        return is_message_list(value) or all(isinstance(c, dict) and _has_messages(c) for c in value)
    return False


def _has_messages(value: dict) -> bool:
    messages = value.get("messages")
    return isinstance(messages, list) and any(isinstance(m, dict) and "role" in m for m in messages)


def read(path: Path, options: ReadOptions) -> Iterator[Rollout]:
    for record, conversation in _conversations(path):
        yield _rollout(path, record, conversation, options)


def _conversations(path: Path) -> Iterator[tuple[int, Any]]:
    """(record number, conversation) pairs, whatever the file's layout."""
    if path.suffix == ".jsonl":
        yield from read_json_lines(path)
        return
    try:
        document = read_json_document(path)
    except FormatError:
        if not _first_line_is_json(path):
            raise
        yield from read_json_lines(path)
        return
    if (
        isinstance(document, list)
        and document
        and isinstance(document[0], dict)
        and "messages" in document[0]
    ):
        yield from enumerate(document, start=1)
    elif document != []:
        yield 1, document


def _first_line_is_json(path: Path) -> bool:
    """Whether a file that is not one JSON document is JSONL (its first line stands alone)."""
    try:
        next(read_json_lines(path))
    except (FormatError, StopIteration):
        return False
    return True


def _rollout(path: Path, record: int, conversation: Any, options: ReadOptions) -> Rollout:
    meta, messages = _split(path, record, conversation)
    steps = _steps(path, record, messages, options)
    instruction = _first_user_text(path, record, messages)
    task_id = _meta_text(meta, "task_id", "instance_id") or _default_task_id(path, instruction)
    usage = dict_or_empty(meta.get("usage"))
    tokens_in = int_or_none(usage.get("prompt_tokens")) or _sum(s.tokens_in for s in steps)
    tokens_out = int_or_none(usage.get("completion_tokens")) or _sum(s.tokens_out for s in steps)
    return Rollout(
        task_id=task_id,
        policy=_meta_text(meta, "model", "policy") or NAME,
        source=Source(path=str(path), format=NAME, record=record),
        steps=steps,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        exit_status=_meta_text(meta, "exit_status"),
        final_diff=_meta_text(meta, "final_diff", "model_patch", "patch", "submission"),
        tests_passed=_meta_bool(meta, "tests_passed", "resolved"),
        task=Task(id=task_id, instruction=instruction) if instruction else None,
    )


def _split(path: Path, record: int, conversation: Any) -> tuple[dict[str, Any], list[Any]]:
    """(metadata, messages) of a conversation object or a bare list of messages."""
    if isinstance(conversation, list):
        return {}, conversation
    if not isinstance(conversation, dict):
        raise FormatError(path, record, f"expected {CONVERSATION}, found {shown(conversation)}")
    if "messages" not in conversation:
        keys = ", ".join(sorted(map(str, conversation))[:8]) or "none"
        raise FormatError(
            path, record, f'expected {CONVERSATION}; this object has no "messages" (keys: {keys})'
        )
    messages = expect(conversation["messages"], list, path, record, "messages", "a list of messages")
    return conversation, messages


def _steps(path: Path, record: int, messages: list[Any], options: ReadOptions) -> list[Step]:
    """The assistant turns as steps, with the tool results attached."""
    roles = [_role(path, record, i, message) for i, message in enumerate(messages)]
    last_assistant = max((i for i, role in enumerate(roles) if role == "assistant"), default=-1)
    steps = StepList()
    called = False
    for i, (role, message) in enumerate(zip(roles, messages, strict=True)):
        where = f"messages[{i}]"
        if role == "assistant":
            calls = _tool_calls(path, record, where, message)
            called = _add_turn(steps, path, record, where, message, calls, called, i == last_assistant)
        elif role in ("tool", "function"):
            _attach(steps, path, record, where, message, options)
        else:
            message_text(message.get("content"), path, record, f"{where}.content")
    return steps.steps


def _role(path: Path, record: int, index: int, message: Any) -> str:
    where = f"messages[{index}]"
    expect(message, dict, path, record, where, "a message object with a role")
    role = message.get("role")
    if role not in ROLES:
        found = shown(role) if "role" in message else "no role"
        raise FormatError(path, record, f"{where}.role: expected one of {'/'.join(ROLES)}, found {found}")
    return str(role)


def _tool_calls(path: Path, record: int, where: str, message: dict) -> list[tuple[ToolCall, str | None]]:
    """The message's tool calls, each with why it is malformed (None when it is not)."""
    calls = message.get("tool_calls")
    if calls is not None:
        expect(calls, list, path, record, f"{where}.tool_calls", "a list of tool calls or null")
        return [
            parse_tool_call(call, path, record, f"{where}.tool_calls[{j}]") for j, call in enumerate(calls)
        ]
    legacy = message.get("function_call")
    if legacy is None:
        return []
    expect(legacy, dict, path, record, f"{where}.function_call", "an object with name and arguments")
    return [parse_tool_call({"function": legacy}, path, record, where)]


def _add_turn(
    steps: StepList,
    path: Path,
    record: int,
    where: str,
    message: dict,
    calls: list[tuple[ToolCall, str | None]],
    called: bool,
    is_last: bool,
) -> bool:
    """Add one assistant message's steps; returns whether any tool was called so far."""
    thought = message_text(message.get("content"), path, record, f"{where}.content")
    thought = thought or _reasoning(message)
    usage = dict_or_empty(message.get("usage"))
    tokens: dict[str, Any] = {
        "tokens_in": int_or_none(usage.get("prompt_tokens")),
        "tokens_out": int_or_none(usage.get("completion_tokens")),
    }
    if calls:
        for j, (call, malformed) in enumerate(calls):
            first = j == 0
            extra = tokens if first else {}
            steps.add(thought=thought if first else "", tool_call=call, malformed=malformed, **extra)
        return True
    if is_last and called:
        finish = ToolCall(name="finish", arguments={"message": thought})
        steps.add(waits=False, tool_call=finish, **tokens)
    else:
        steps.add(waits=False, thought=thought, malformed=NO_TOOL_CALL, **tokens)
    return called


def _reasoning(message: dict) -> str:
    """Reasoning some servers (vLLM, DeepSeek) return beside an empty content."""
    value = message.get("reasoning_content", message.get("reasoning"))
    return value if isinstance(value, str) else ""


def _attach(
    steps: StepList, path: Path, record: int, where: str, message: dict, options: ReadOptions
) -> None:
    """Give a tool result to the call it answers; a result nothing asked for is a FormatError."""
    content = message_text(message.get("content"), path, record, f"{where}.content")
    call_id = message.get("tool_call_id")
    step = steps.take(None if call_id is None else str(call_id))
    if step is None:
        named = f" (tool_call_id {shown(call_id)})" if call_id is not None else ""
        raise FormatError(path, record, f"{where}: a tool result{named} with no tool call waiting for it")
    error = bool(message.get("error")) or message.get("is_error") is True
    step.observation = observation(content, options, error=error)


def _first_user_text(path: Path, record: int, messages: list[Any]) -> str:
    for i, message in enumerate(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message.get("content"), path, record, f"messages[{i}].content")
    return ""


def _default_task_id(path: Path, instruction: str) -> str:
    stem = task_id_from_path(path)
    if not instruction:
        return stem
    digest = hashlib.sha1(instruction.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{stem}-{digest}"


def _meta_text(meta: dict[str, Any], *keys: str) -> str:
    """The first non-empty string under `keys`, in the conversation object or its `metadata`."""
    for source in (meta, dict_or_empty(meta.get("metadata"))):
        for key in keys:
            value = source.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, int) and not isinstance(value, bool) and key.endswith("_id"):
                return str(value)
    return ""


def _meta_bool(meta: dict[str, Any], *keys: str) -> bool | None:
    """A test outcome only when the file states it as a boolean."""
    for source in (meta, dict_or_empty(meta.get("metadata"))):
        for key in keys:
            value = source.get(key)
            if isinstance(value, bool):
                return value
    return None


def _sum(values: Iterator[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
