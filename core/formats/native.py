"""The native format: JSONL, one rollout per line, versioned by its `format` key.

A line is the JSON of `core.schema.Rollout` plus `"format": "agentpref.rollout/1"`; `id`,
`flags` and `score` are derived on import, so values given for them are replaced. See the
README for an example. Lines are validated straight from their JSON text by pydantic-core,
the fast path that keeps a 10,000-rollout import within seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from core.formats.base import FormatError, ReadOptions
from core.formats.common import may_hold_surrogates, scrub, validation_message
from core.schema import Rollout, Source
from core.text import clean_text

NAME = "native"
VERSION = "agentpref.rollout/1"


class NativeRecord(Rollout):
    format: Literal["agentpref.rollout/1"]


def sniff(sample: str) -> bool:
    first = sample.split("\n", 1)[0]
    return '"format"' in first and "agentpref.rollout/" in first


def read(path: Path, options: ReadOptions) -> Iterator[Rollout]:
    with path.open("r", encoding="utf-8", errors="surrogateescape") as handle:
        for lineno, line in enumerate(handle, start=1):
            if line.strip():
                yield parse_line(path, lineno, line, options)


def parse_line(path: Path, lineno: int, line: str, options: ReadOptions) -> Rollout:
    try:
        if may_hold_surrogates(line):
            import json

            rollout: Rollout = NativeRecord.model_validate(scrub(json.loads(line)))
        else:
            rollout = NativeRecord.model_validate_json(line)
    except ValueError as exc:  # ValidationError, or json's error on the rare scrubbed path
        raise FormatError(path, lineno, _explain(exc)) from exc
    if rollout.task is not None:
        rollout.task = rollout.task.description()
    for step in rollout.steps:
        obs = step.observation
        if obs is not None:
            text, cut = clean_text(obs.content, options.max_observation_bytes)
            if text is not obs.content:  # assigning a pydantic field costs; most texts are clean
                obs.content = text
                obs.truncated_bytes += cut
    rollout.source = Source(path=str(path), format=NAME, record=lineno)
    return rollout


def _explain(exc: ValueError) -> str:
    if not isinstance(exc, ValidationError):
        return f"invalid JSON: {exc}"
    errors = exc.errors()
    first = errors[0]
    if first["type"] == "json_invalid":
        return f"invalid JSON: {first['ctx'].get('error', first['msg']) if 'ctx' in first else first['msg']}"
    if first["type"] == "model_type":
        return "expected a JSON object (one rollout per line)"
    for err in errors:
        if err["loc"] == ("format",):
            return f'expected "format": "{VERSION}", found {err.get("input")!r}'
    return validation_message(exc)


def dump(rollout: Rollout) -> dict[str, Any]:
    """A rollout as a native record (what `read` accepts back)."""
    data = rollout.model_dump(mode="json", exclude={"id", "flags", "score", "source"}, exclude_none=True)
    for step in data.get("steps", []):
        step.pop("action", None)
    return {"format": VERSION, **data}
