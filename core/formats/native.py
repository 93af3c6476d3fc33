"""The native format: JSONL, one rollout per line, versioned by its `format` key.

A line is the JSON of `core.schema.Rollout` (without `id`, `flags`, `score`, which are
derived on import) plus `"format": "agentpref.rollout/1"`. See the README for an example.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from core.formats import FormatError, ReadOptions
from core.formats.common import read_json_lines, validation_message
from core.schema import Rollout, Source
from core.text import clean_text

NAME = "native"
VERSION = "agentpref.rollout/1"
DERIVED = ("id", "flags", "score")


def sniff(sample: str) -> bool:
    return '"format"' in sample.split("\n", 1)[0] and "agentpref.rollout/" in sample.split("\n", 1)[0]


def read(path: Path, options: ReadOptions) -> Iterator[Rollout]:
    for lineno, record in read_json_lines(path):
        if not isinstance(record, dict):
            raise FormatError(path, lineno, "expected a JSON object (one rollout per line)")
        version = record.pop("format", None)
        if version != VERSION:
            raise FormatError(path, lineno, f'expected "format": "{VERSION}", found {version!r}')
        for key in DERIVED:
            record.pop(key, None)
        try:
            rollout = Rollout.model_validate(record)
        except ValidationError as exc:
            raise FormatError(path, lineno, validation_message(exc)) from exc
        for step in rollout.steps:
            if step.observation is not None:
                text, cut = clean_text(step.observation.content, options.max_observation_bytes)
                step.observation.content = text
                step.observation.truncated_bytes += cut
        rollout.source = Source(path=str(path), format=NAME, record=lineno)
        yield rollout


def dump(rollout: Rollout) -> dict:
    """A rollout as a native record (what `read` accepts back)."""
    data = rollout.model_dump(mode="json", exclude={"id", "flags", "score", "source"}, exclude_none=True)
    for step in data.get("steps", []):
        step.pop("action", None)
    return {"format": VERSION, **data}
