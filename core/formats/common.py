"""Pieces every reader shares: JSON records with line numbers, clean observations, messages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.formats.base import FormatError, ReadOptions
from core.schema import INT64_MAX, INT64_MIN, Observation, Step, ToolCall
from core.text import clean_text


def iter_json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line of a JSONL file."""
    with path.open("r", encoding="utf-8", errors="surrogateescape") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(path, lineno, f"invalid JSON at column {exc.colno}: {exc.msg}") from exc
            except ValueError as exc:  # Python refuses integers of over 4,300 digits
                raise FormatError(path, lineno, _NUMBER_TOO_LONG) from exc
            yield lineno, scrub(value) if may_hold_surrogates(line) else value


def load_json(path: Path) -> Any:
    """A whole-file JSON document; errors name the line and column."""
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        why = f"invalid JSON at column {exc.colno}: {exc.msg}"
        raise FormatError(path, None, why, line=exc.lineno) from exc
    except ValueError as exc:
        raise FormatError(path, None, _NUMBER_TOO_LONG) from exc
    return scrub(value) if may_hold_surrogates(text) else value


_NUMBER_TOO_LONG = "a number of over 4,300 digits (no trajectory field holds one)"


_SURROGATE_ESCAPE_RE = re.compile(r"\\[uU][dD][89a-fA-F]")
_SURROGATE_CHAR_RE = re.compile("[\ud800-\udfff]")


def may_hold_surrogates(text: str) -> bool:
    """Cheap test on the raw text, so the costly walk of `scrub` runs only when needed."""
    if text.isascii():  # only a \\uD800-style escape can make one
        return ("\\ud" in text or "\\uD" in text) and _SURROGATE_ESCAPE_RE.search(text) is not None
    return _SURROGATE_CHAR_RE.search(text) is not None or _SURROGATE_ESCAPE_RE.search(text) is not None


def validation_message(exc: ValidationError) -> str:
    """Pydantic's errors as 'field.path: what was expected' pairs, a few of them."""
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"]) or "(record)"
        parts.append(f"{loc}: {err['msg']}")
    more = len(exc.errors()) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def text_of(content: Any) -> str:
    """Message content as text: a string, a list of text parts, or None."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = []
        for part in content:
            if isinstance(part, str):
                pieces.append(part)
            elif isinstance(part, dict):
                pieces.append(str(part.get("text", part.get("content", ""))))
        return "".join(pieces)
    return json.dumps(content)


def observation(
    content: Any, options: ReadOptions, exit_code: int | None = None, error: bool = False
) -> Observation:
    text, cut = clean_text(text_of(content), options.max_observation_bytes)
    return Observation(content=text, exit_code=exit_code, error=error, truncated_bytes=cut)


# --- Helpers the harness readers (openai, swe-agent, mini-swe-agent) share -------------------------

_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def scrub(value: Any) -> Any:
    """`value` with lone surrogates in every string replaced by U+FFFD.

    Undecodable bytes (read with surrogateescape) and bad `\\ud800` escapes parse into lone
    surrogates, which pydantic accepts but no UTF-8 writer (SQLite, JSON, the terminal) can
    store, so they would crash the import one layer later. Iterative, so deep nesting is fine.
    """
    if isinstance(value, str):
        return _scrub_text(value)
    if not isinstance(value, dict | list):
        return value
    stack: list[dict | list] = [value]
    while stack:
        node = stack.pop()
        keys = node.keys() if isinstance(node, dict) else range(len(node))
        for key in list(keys):
            item = node[key]  # type: ignore[index]
            if isinstance(item, str):
                node[key] = _scrub_text(item)  # type: ignore[index]
            elif isinstance(item, dict | list):
                stack.append(item)
    return value


def _scrub_text(text: str) -> str:
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE_RE.sub("\N{REPLACEMENT CHARACTER}", text)
    return text


def read_json_document(path: Path) -> Any:
    """`load_json` with nesting too deep for Python reported as a FormatError too."""
    try:
        return load_json(path)
    except RecursionError as exc:
        raise FormatError(path, None, "the JSON is nested too deeply to read") from exc


def read_json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """`iter_json_lines` with nesting too deep for Python reported as a FormatError."""
    lines = iter_json_lines(path)
    lineno = 0
    while True:
        try:
            lineno, value = next(lines)
        except StopIteration:
            return
        except RecursionError as exc:
            why = f"the JSON after line {lineno} is nested too deeply to read"
            raise FormatError(path, None, why) from exc
        yield lineno, value


def describe(value: Any) -> str:
    """A JSON value's type as an error message names it ("a list", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def shown(value: Any, limit: int = 60) -> str:
    """A short repr for error messages: a 5 MB role string must not become a 5 MB message."""
    text = repr(value) if isinstance(value, str) else describe(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def expect(
    value: Any, kind: type | tuple[type, ...], path: Path, record: int, where: str, expected: str
) -> Any:
    """`value` if it is of `kind` (booleans never count as numbers), else a FormatError naming `where`."""
    if isinstance(value, kind) and not (isinstance(value, bool) and bool not in _kinds(kind)):
        return value
    raise FormatError(path, record, f"{where}: expected {expected}, found {describe(value)}")


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def optional_text(value: Any, path: Path, record: int, where: str) -> str:
    """A string field that may be missing or null ("" then); any other type is a FormatError."""
    if value is None:
        return ""
    return str(expect(value, str, path, record, where, "a string or null"))


def message_text(value: Any, path: Path, record: int, where: str) -> str:
    """Chat message content: a string, a list of text parts, or null; anything else is a FormatError."""
    if value is not None and not isinstance(value, str | list):
        expected = f"{where}: expected a string, a list of parts or null"
        raise FormatError(path, record, f"{expected}, found {describe(value)}")
    return text_of(value)


def int_or_none(value: Any) -> int | None:
    """An integer from metadata that only enriches (token counts, exit codes); anything else is None.

    A bad token count is not worth dropping a user's whole file over.
    """
    if isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX:
        return value
    return None  # SQLite stores 64-bit integers: a larger count is not a count


def float_or_none(value: Any) -> float | None:
    """A number from metadata that only enriches (timings); anything else is None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def dict_or_empty(value: Any) -> dict[str, Any]:
    """A metadata object, or {} when it is missing or not an object."""
    return value if isinstance(value, dict) else {}


def task_id_from_path(path: Path) -> str:
    """The file name without its extension: `django-1234.traj.json` -> `django-1234`."""
    name = path.name
    for suffix in (".traj.json", ".traj", ".jsonl", ".json"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return path.stem or name


def parse_tool_call(call: Any, path: Path, record: int, where: str) -> tuple[ToolCall, str | None]:
    """One OpenAI `tool_calls` entry as a ToolCall, and why it is malformed (None when it is not).

    Arguments that do not parse into a JSON object are the model's mistake, not the file's:
    the call is kept with `arguments={}` and the text in `raw`, and the step is flagged.
    A call without a function name cannot be represented at all, so that is a FormatError.
    """
    expect(call, dict, path, record, where, "an object with id, type and function")
    function = call.get("function")
    expect(function, dict, path, record, f"{where}.function", "an object with name and arguments")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        expected = f"{where}.function.name: expected a non-empty string"
        raise FormatError(path, record, f"{expected}, found {shown(name)}")
    call_id = call.get("id")
    call_id = None if call_id is None else str(call_id)
    return parse_arguments(name, function.get("arguments"), call_id)


def parse_arguments(name: str, arguments: Any, call_id: str | None = None) -> tuple[ToolCall, str | None]:
    """Tool-call arguments given as a JSON string (OpenAI) or already as an object (Inspect, TRL)."""
    if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
        return ToolCall(name=name, arguments={}, id=call_id), None  # a tool without parameters
    if isinstance(arguments, dict):
        return ToolCall(name=name, arguments=arguments, id=call_id), None
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    broken = ToolCall(name=name, id=call_id, raw=raw)
    if not isinstance(arguments, str):
        return broken, f"arguments of {name} are not a JSON object: found {describe(arguments)}"
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError as exc:
        return broken, f"arguments of {name} are not valid JSON: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return broken, f"arguments of {name} are not valid JSON: nested too deeply"
    if not isinstance(parsed, dict):
        return broken, f"arguments of {name} are not a JSON object: found {describe(parsed)}"
    return ToolCall(name=name, arguments=scrub(parsed), id=call_id), None


class StepList:
    """Steps in order, and those still waiting for what the environment sent back.

    Tool results name their call by id, but not every harness keeps ids, so a result with no
    matching id goes to the oldest step still waiting (results come back in call order).
    """

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self._waiting: list[Step] = []

    def add(self, waits: bool = True, **fields: Any) -> Step:
        step = Step(index=len(self.steps), **fields)
        self.steps.append(step)
        if waits:
            self._waiting.append(step)
        return step

    def take(self, call_id: str | None = None) -> Step | None:
        """The step a result belongs to (removed from the waiting ones), or None when none waits."""
        if call_id is not None:
            for i, step in enumerate(self._waiting):
                if step.tool_call is not None and step.tool_call.id == call_id:
                    return self._waiting.pop(i)
        return self._waiting.pop(0) if self._waiting else None

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def close(self) -> None:
        """Nothing waits any more: a harness whose results always answer the latest turn."""
        self._waiting.clear()


# --- Sniffing -------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def sniff_json(sample: str) -> tuple[str, Any]:
    """How a file's first 64 KiB parse, so each format can judge structure, not substrings.

    ("document", value): the sample is one whole JSON value (the file is small);
    ("lines", value): its first line is a JSON value of its own and more follows (JSONL);
    ("partial", None): neither, e.g. a pretty-printed document longer than the sample.
    Cached: detect() asks every format about the same sample.
    """
    text = sample.lstrip("\ufeff \t\r\n")
    try:
        return "document", json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        return "lines", json.loads(text.split("\n", 1)[0])
    except (ValueError, RecursionError):
        return "partial", None


def has_json_key(sample: str, key: str, value_pattern: str = "") -> bool:
    """Whether `"key": <value_pattern>` occurs as real JSON, not as escaped text inside a string.

    Text inside a JSON string has its quotes escaped (`\\"key\\"`), so a quote not preceded by a
    backslash is structure. Used on samples cut mid-document, where nothing parses.
    """
    pattern = r'(?<!\\)"' + re.escape(key) + r'"\s*:\s*' + value_pattern
    return re.search(pattern, sample) is not None


def starts_json(sample: str, opener: str) -> bool:
    """Whether the sample's first non-blank character is `opener` ("{" or "[")."""
    return sample.lstrip("\ufeff \t\r\n")[:1] == opener


def is_message_list(value: Any) -> bool:
    """A non-empty list of chat messages (objects with a `role`)."""
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) and "role" in m for m in value)
