"""Reading rollouts from other harnesses' files, and detecting which harness wrote them.

Each format module exposes `NAME`, `sniff(sample) -> bool` and
`read(path, options) -> Iterator[Rollout]`. A reader raises `FormatError` naming the file,
the record and what was expected; the caller decides whether the whole file is dropped
(the CLI drops it: nothing of a broken file is half-imported). `FormatError` and `ReadOptions`
live in `base`, which the readers import and which imports none of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from core.formats.base import FormatError, ReadOptions

if TYPE_CHECKING:  # the command line's parser lists the formats without loading the schema
    from core.schema import Rollout

__all__ = ["FORMAT_NAMES", "FormatError", "ReadOptions", "detect", "read_rollouts"]


def _modules() -> list[ModuleType]:
    from core.formats import mini_swe_agent, native, openai_chat, swe_agent

    # Order matters for sniffing: the most specific markers first.
    return [native, mini_swe_agent, swe_agent, openai_chat]


FORMAT_NAMES = ("native", "openai", "swe-agent", "mini-swe-agent")


def detect(path: Path) -> str:
    """The format of `path`, judged from its first kilobytes; FormatError when none fits."""
    try:
        with path.open("rb") as handle:
            sample = handle.read(65536).decode("utf-8", "replace")
    except OSError as exc:
        raise FormatError(path, None, f"cannot read the file ({exc.strerror})") from exc
    for module in _modules():
        if module.sniff(sample):
            return str(module.NAME)
    raise FormatError(
        path,
        None,
        "unknown format: expected native JSONL, OpenAI chat messages, a SWE-agent .traj "
        "or a mini-swe-agent trajectory (use --format to say which)",
    )


def read_rollouts(path: Path, fmt: str = "auto", options: ReadOptions | None = None) -> Iterator[Rollout]:
    """Yield the rollouts in `path`. Steps are not yet classified or checked."""
    options = options or ReadOptions()
    name = detect(path) if fmt == "auto" else fmt
    for module in _modules():
        if name == module.NAME:
            yield from module.read(path, options)
            return
    raise FormatError(path, None, f"unknown format {fmt!r}: expected one of auto, {', '.join(FORMAT_NAMES)}")
