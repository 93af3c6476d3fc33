"""What every format reader shares: `FormatError` and `ReadOptions` (imports no reader)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class FormatError(ValueError):
    """A file that does not match its format.

    `record` is the 1-based record (in JSONL, its line); `line` a line inside a whole-file
    JSON document, where a record number would send the reader to the wrong place.
    """

    def __init__(self, path: Path | str, record: int | None, expected: str, line: int | None = None) -> None:
        self.path = str(path)
        self.record = record
        self.expected = expected
        self.line = line
        where = self.path + (f", record {record}" if record else "") + (f", line {line}" if line else "")
        super().__init__(f"{where}: {expected}")

    def __reduce__(self) -> tuple:  # crosses process boundaries in parallel imports
        return (FormatError, (self.path, self.record, self.expected, self.line))


@dataclass(frozen=True)
class ReadOptions:
    max_observation_bytes: int = 1_000_000
