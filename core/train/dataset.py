"""The training set: decided pairs as TRL rows, split by task, with their sizes checked.

The split is by task, never by pair: two pairs from one task share a prompt prefix, so a
pair-level split would put near copies on both sides and make validation accuracy a
measure of memory rather than of the preference.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DatasetSplit:
    train: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    train_tasks: list[str]
    validation_tasks: list[str]

    def counts(self) -> dict[str, Any]:
        sources: dict[str, int] = {}
        for row in self.train + self.validation:
            sources[row.get("source", "")] = sources.get(row.get("source", ""), 0) + 1
        return {
            "train_pairs": len(self.train),
            "validation_pairs": len(self.validation),
            "train_tasks": len(self.train_tasks),
            "validation_tasks": len(self.validation_tasks),
            "human": sources.get("human", 0),
            "auto": sources.get("auto", 0),
        }


def _rank(task_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{task_id}".encode()).hexdigest()


def split_by_task(rows: list[dict[str, Any]], fraction: float, seed: int = 0) -> DatasetSplit:
    """Hold out whole tasks: about `fraction` of them (at least one when there are two or more)."""
    tasks = sorted({row["task_id"] for row in rows}, key=lambda t: _rank(t, seed))
    held = (
        min(max(round(len(tasks) * fraction), 1), len(tasks) - 1) if fraction > 0 and len(tasks) >= 2 else 0
    )
    validation_tasks = set(tasks[:held])
    return DatasetSplit(
        train=[r for r in rows if r["task_id"] not in validation_tasks],
        validation=[r for r in rows if r["task_id"] in validation_tasks],
        train_tasks=sorted(set(tasks) - validation_tasks),
        validation_tasks=sorted(validation_tasks),
    )


@dataclass
class LengthReport:
    """Rows that do not fit `max_length` tokens: reported, never dropped without a word."""

    max_length: int
    truncated: list[int] = field(default_factory=list)  # pair ids whose prompt+completion is cut
    prompt_too_long: list[int] = field(default_factory=list)  # pair ids whose prompt alone fills it
    longest: int = 0

    def lines(self, truncation_mode: str) -> list[str]:
        out = []
        if self.prompt_too_long:
            what = (
                "dropped by TRL (their prompt alone fills max_length)"
                if truncation_mode == "keep_start"
                else "kept with the start of the prompt cut (truncation_mode keep_end)"
            )
            out.append(
                f"{len(self.prompt_too_long)} pair(s) have a prompt of at least max_length={self.max_length} "
                f"tokens and are {what}: pairs {_ids(self.prompt_too_long)}"
            )
        if self.truncated:
            out.append(
                f"{len(self.truncated)} pair(s) are longer than max_length={self.max_length} tokens "
                f"(longest {self.longest}) and are truncated ({truncation_mode}): "
                f"pairs {_ids(self.truncated)}"
            )
        return out


def _ids(ids: list[int], shown: int = 10) -> str:
    text = ", ".join(str(i) for i in ids[:shown])
    return text + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def length_report(tokenizer: Any, rows: list[dict[str, Any]], max_length: int) -> LengthReport:
    report = LengthReport(max_length=max_length)
    for row in rows:
        tools = json.loads(row["tools"]) if isinstance(row.get("tools"), str) else row.get("tools")
        prompt = len(
            tokenizer.apply_chat_template(
                row["prompt"], tools=tools, tokenize=True, return_dict=True, add_generation_prompt=True
            )["input_ids"]
        )
        full = max(
            len(
                tokenizer.apply_chat_template(
                    row["prompt"] + row[side], tools=tools, tokenize=True, return_dict=True
                )["input_ids"]
            )
            for side in ("chosen", "rejected")
        )
        report.longest = max(report.longest, full)
        if prompt >= max_length:
            report.prompt_too_long.append(row.get("pair_id", -1))
        elif full > max_length:
            report.truncated.append(row.get("pair_id", -1))
    return report


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    """Write atomically, so a resumed run never reads half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
