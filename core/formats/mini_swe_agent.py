"""mini-swe-agent trajectories (`*.traj.json`): a chat transcript where every action is bash.

Accepted: `{"info": {...}, "messages": [...], "trajectory_format": "mini-swe-agent-1.1"}` (and
the older `"mini-swe-agent-1"`), or the oldest form, a bare list of messages.

How messages become steps:
- each action of an assistant message is one step running `bash {"command": ...}`. Actions
  come from `extra.actions` (what the harness itself parsed) when present, else from
  `tool_calls` (tool-call models), else from the fenced block in the text
  (```` ```mswea_bash_command ````, or ```` ```bash ```` in older prompts). Text models must
  write exactly one block; zero or several make a step flagged `malformed`;
- observations come back as `role: "tool"` (by `tool_call_id`) or `role: "user"` (text
  models), and always answer the latest assistant turn. The output is `extra.raw_output`
  when recorded, else the text inside `<output>`; long outputs that mini-swe-agent elided
  (`<output_head>`/`<output_tail>`) and error messages are kept as the whole message. The
  exit code is `extra.returncode` or `<returncode>`;
- a non-zero exit code is not an error (a failing test run is legitimate); `error` is set for
  timeouts and execution exceptions, and for format-error feedback, which is kept as the
  malformed step's observation. Newer versions do not record the rejected assistant
  message at all, only the feedback (`extra.interrupt_type: "FormatError"`); such feedback
  becomes a malformed step of its own, since the model did take (and botch) that turn;
- the finish command (`echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT`, older
  `echo MINI_SWE_AGENT_FINAL_OUTPUT`) stays a bash command; the action classifier knows it.
The run ends with `role: "exit"` carrying `extra{exit_status, submission}`; `info` says the
same and wins when both do. The submission is the final diff only when the run was
submitted: otherwise mini-swe-agent stores the error message there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.formats.base import FormatError, ReadOptions
from core.formats.common import (
    StepList,
    describe,
    dict_or_empty,
    expect,
    float_or_none,
    has_json_key,
    int_or_none,
    is_message_list,
    message_text,
    observation,
    parse_tool_call,
    read_json_document,
    shown,
    sniff_json,
    starts_json,
    task_id_from_path,
)
from core.schema import Rollout, Source, Step, Task, ToolCall

NAME = "mini-swe-agent"
ROLES = ("system", "user", "assistant", "tool", "exit")
MARKERS = ("mswea_bash_command", "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", "MINI_SWE_AGENT_FINAL_OUTPUT")
BLOCK_RE = {
    "mswea": re.compile(r"```mswea_bash_command\s*\n(.*?)\n```", re.DOTALL),
    "bash": re.compile(r"```bash\s*\n(.*?)\n```", re.DOTALL),
}
RETURNCODE_RE = re.compile(r"<returncode>\s*(-?\d+)\s*</returncode>")
OUTPUT_RE = re.compile(r"<output>\n?(.*)</output>", re.DOTALL)
TIMEOUT_MARKER = "timed out and has been killed"
EXPECTED = 'a mini-swe-agent trajectory: an object with "info" and "messages", or a list of messages'


def sniff(sample: str) -> bool:
    """mini-swe-agent's own keys (`trajectory_format`, `mini_version`, its class names) or, for
    the bare-list form, chat messages that use its action block or finish command."""
    kind, value = sniff_json(sample)
    if kind == "document":
        if isinstance(value, dict):
            return _is_mini_object(value)
        return is_message_list(value) and _mentions_markers(sample)
    if kind == "lines":
        return False  # JSONL: one file per trajectory is mini-swe-agent's layout
    if starts_json(sample, "{"):
        return (
            has_json_key(sample, "trajectory_format", '"mini-swe-agent')
            or has_json_key(sample, "mini_version")
            or any(has_json_key(sample, key, r'"minisweagent\.') for key in ("agent_type", "model_type"))
        )
    return starts_json(sample, "[") and has_json_key(sample, "role") and _mentions_markers(sample)


def _is_mini_object(value: dict) -> bool:
    if str(value.get("trajectory_format", "")).startswith("mini-swe-agent"):
        return True
    info = dict_or_empty(value.get("info"))
    agent_type = dict_or_empty(info.get("config")).get("agent_type")
    return "mini_version" in info or (isinstance(agent_type, str) and agent_type.startswith("minisweagent."))


def _mentions_markers(sample: str) -> bool:
    return any(marker in sample for marker in (*MARKERS, "<returncode>"))


def read(path: Path, options: ReadOptions) -> Iterator[Rollout]:
    data = read_json_document(path)
    info, messages = _split(path, data)
    yield _rollout(path, info, messages, options)


def _split(path: Path, data: Any) -> tuple[dict[str, Any], list[Any]]:
    """(info, messages) of either layout."""
    if isinstance(data, list):
        return {}, data
    if not isinstance(data, dict):
        raise FormatError(path, 1, f"expected {EXPECTED}, found {describe(data)}")
    if "messages" not in data:
        raise FormatError(path, 1, f"messages: missing (expected {EXPECTED})")
    messages = expect(data["messages"], list, path, 1, "messages", "a list of messages")
    info = expect(data.get("info", {}), dict, path, 1, "info", "an object")
    return info, messages


def _rollout(path: Path, info: dict[str, Any], messages: list[Any], options: ReadOptions) -> Rollout:
    reader = _Reader(path, options)
    for i, message in enumerate(messages):
        reader.message(i, message)
    exit_extra = reader.exit_extra
    status = _text(info.get("exit_status")) or _text(exit_extra.get("exit_status"))
    submission = _text(info.get("submission")) or _text(exit_extra.get("submission"))
    task_id = _task_id(path, info)
    steps = reader.steps.steps
    return Rollout(
        task_id=task_id,
        policy=_model_name(info) or NAME,
        source=Source(path=str(path), format=NAME, record=1),
        steps=steps,
        tokens_in=_sum(step.tokens_in for step in steps),
        tokens_out=_sum(step.tokens_out for step in steps),
        exit_status=status,
        final_diff=submission if status == "Submitted" or submission.startswith("diff --git") else "",
        task=Task(id=task_id, instruction=reader.instruction) if reader.instruction else None,
    )


class _Reader:
    """Walks the messages once, turning assistant turns into steps and answers into observations."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        self.steps = StepList()
        self.instruction = ""
        self.exit_extra: dict[str, Any] = {}

    def fail(self, expected: str) -> FormatError:
        return FormatError(self.path, 1, expected)

    def message(self, index: int, message: Any) -> None:
        where = f"messages[{index}]"
        expect(message, dict, self.path, 1, where, "a message object with a role")
        role = message.get("role")
        if role not in ROLES:
            found = shown(role) if "role" in message else "no role"
            raise self.fail(f"{where}.role: expected one of {'/'.join(ROLES)}, found {found}")
        text = message_text(message.get("content"), self.path, 1, f"{where}.content")
        extra = message.get("extra")
        if extra is not None:
            expect(extra, dict, self.path, 1, f"{where}.extra", "an object")
        extra = extra or {}
        if role == "assistant":
            self.assistant(where, message, text, extra)
        elif role == "tool":
            call_id = message.get("tool_call_id")
            self.answer(where, self.steps.take(None if call_id is None else str(call_id)), text, extra)
        elif role == "user":
            self.user(where, text, extra)
        elif role == "exit":
            self.exit_extra = extra

    def assistant(self, where: str, message: dict, text: str, extra: dict[str, Any]) -> None:
        """One step per action; a turn without exactly one action is one malformed step."""
        self.steps.close()  # observations always answer the latest turn
        usage = dict_or_empty(dict_or_empty(extra.get("response")).get("usage")) or dict_or_empty(
            message.get("usage")
        )
        timing: dict[str, Any] = {
            "tokens_in": int_or_none(usage.get("prompt_tokens")),
            "tokens_out": int_or_none(usage.get("completion_tokens")),
            "started_at": float_or_none(extra.get("timestamp")),
        }
        calls, malformed, thought = self.actions(where, message, text, extra)
        if not calls:
            self.steps.add(thought=thought, malformed=malformed, **timing)
            return
        for j, (call, bad) in enumerate(calls):
            fields: dict[str, Any] = {"thought": thought, **timing} if j == 0 else {}
            self.steps.add(tool_call=call, malformed=bad, **fields)

    def actions(
        self, where: str, message: dict, text: str, extra: dict[str, Any]
    ) -> tuple[list[tuple[ToolCall, str | None]], str | None, str]:
        """(calls each with why it is malformed, why the turn is malformed, the thought)."""
        tool_calls = message.get("tool_calls")
        if tool_calls is not None:
            expect(tool_calls, list, self.path, 1, f"{where}.tool_calls", "a list of tool calls or null")
        thought = text if tool_calls else _without_block(text)
        recorded = extra.get("actions")
        if recorded is not None:
            expect(recorded, list, self.path, 1, f"{where}.extra.actions", "a list of actions")
        if recorded:
            parsed = [self.recorded(f"{where}.extra.actions[{j}]", a) for j, a in enumerate(recorded)]
            return parsed, None, thought
        if tool_calls:
            wheres = [f"{where}.tool_calls[{j}]" for j in range(len(tool_calls))]
            calls = [parse_tool_call(c, self.path, 1, w) for c, w in zip(tool_calls, wheres, strict=True)]
            return [_bash_checked(call, bad) for call, bad in calls], None, thought
        blocks = _blocks(text)
        if len(blocks) == 1:
            return [(ToolCall(name="bash", arguments={"command": blocks[0]}), None)], None, thought
        return [], f"expected exactly one bash block, found {len(blocks)}", text

    def recorded(self, where: str, action: Any) -> tuple[ToolCall, str | None]:
        """An action as the harness parsed it: `{"command": ..., "tool_call_id": ...}`."""
        expect(action, dict, self.path, 1, where, "an object with a command")
        command = expect(action.get("command"), str, self.path, 1, f"{where}.command", "a string")
        call_id = action.get("tool_call_id")
        call_id = None if call_id is None else str(call_id)
        return ToolCall(name="bash", arguments={"command": command}, id=call_id), None

    def user(self, where: str, text: str, extra: dict[str, Any]) -> None:
        """The task, an observation (text models), or format-error feedback for a turn not kept."""
        step = self.steps.take()
        if step is not None:
            self.answer(where, step, text, extra)
        elif extra.get("interrupt_type") == "FormatError":
            rejected = self.steps.add(
                waits=False, thought=_text(extra.get("model_response")), malformed=_rejected(extra)
            )
            self.answer(where, rejected, text, extra)
        elif not self.steps.steps and not self.instruction:
            self.instruction = text

    def answer(self, where: str, step: Step | None, text: str, extra: dict[str, Any]) -> None:
        if step is None:
            raise self.fail(f"{where}: an observation with no action waiting for it")
        code = int_or_none(extra.get("returncode"))
        if code is None and (match := RETURNCODE_RE.search(text)):
            digits = match.group(1)
            code = int_or_none(int(digits)) if len(digits) <= 20 else None  # else not a code
        error = (
            step.malformed is not None
            or extra.get("interrupt_type") == "FormatError"
            or bool(extra.get("exception_info"))
            or TIMEOUT_MARKER in text
        )
        content = text if error else _output(text, extra.get("raw_output"))
        step.observation = observation(content, self.options, exit_code=code, error=error)
        answered = float_or_none(extra.get("timestamp"))
        if answered is not None and step.started_at is not None and answered >= step.started_at:
            step.duration_s = answered - step.started_at


def _bash_checked(call: ToolCall, malformed: str | None) -> tuple[ToolCall, str | None]:
    """mini-swe-agent's only tool is `bash` with a `command` string; anything else is malformed."""
    if malformed or call.name != "bash":
        return call, malformed or f"unknown tool {call.name!r}: mini-swe-agent only has bash"
    if not isinstance(call.arguments.get("command"), str):
        return call, "bash call without a command string"
    return call, None


def _blocks(text: str) -> list[str]:
    """The action blocks of a text reply: `mswea_bash_command` blocks, else plain `bash` ones."""
    found = BLOCK_RE["mswea"].findall(text) or BLOCK_RE["bash"].findall(text)
    return [block.strip() for block in found]


def _without_block(text: str) -> str:
    """The reasoning around a reply's single action block, which is the step's thought."""
    for pattern in BLOCK_RE.values():
        if len(pattern.findall(text)) == 1:
            return pattern.sub("", text, count=1).strip()
    return text


def _output(text: str, raw: Any) -> str:
    """The command's own output: `raw_output`, else the text inside `<output>`, else the whole
    message (elided long output). Errors keep the whole message: the explanation is the point."""
    if isinstance(raw, str):
        return raw
    match = OUTPUT_RE.search(text)
    return match.group(1) if match else text


def _rejected(extra: dict[str, Any]) -> str:
    count = int_or_none(extra.get("n_actions"))
    if count is not None:
        return f"expected exactly one bash block, found {count}"
    return "the harness rejected the turn: no valid bash tool call"


def _task_id(path: Path, info: dict[str, Any]) -> str:
    for key in ("instance_id", "task_id"):
        value = info.get(key)
        if isinstance(value, str) and value:
            return value
    return task_id_from_path(path)


def _model_name(info: dict[str, Any]) -> str:
    model = dict_or_empty(dict_or_empty(info.get("config")).get("model"))
    name = model.get("model_name", model.get("name"))
    return name if isinstance(name, str) else ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _sum(values: Iterator[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
