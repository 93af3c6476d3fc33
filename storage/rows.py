"""Conversion between core's pydantic models and database rows.

Steps live in a separate table as zlib-compressed JSON: the rollout list never reads them,
and 10,000 rollouts of tool output compress to a fraction of their size.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from core.prefix import step_keys
from core.schema import (
    Decision,
    Flag,
    Pair,
    PairKind,
    Preference,
    PreferenceSource,
    Rollout,
    Source,
    Step,
    Task,
    ToolCall,
)

STEPS = TypeAdapter(list[Step])


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def compress(steps_json: bytes) -> bytes:
    return zlib.compress(steps_json, 1)


def decode_steps(blob: bytes) -> list[Step]:
    return STEPS.validate_json(zlib.decompress(blob))


def decode_call(blob: bytes, index: int) -> ToolCall | None:
    """Only one step's tool call: mining asks what a rollout did at one step, and validating
    every step of every rollout to answer that cost most of a `mine`."""
    steps = json.loads(zlib.decompress(blob))
    call = steps[index].get("tool_call") if 0 <= index < len(steps) else None
    return ToolCall.model_validate(call) if call else None


def task_row(task: Task) -> dict[str, Any]:
    row = task.model_dump(mode="json")
    row["allowed_globs"] = json.dumps(task.allowed_globs)
    row["candidates"] = json.dumps(row["candidates"])
    return row


def task_from_row(row: dict[str, Any]) -> Task:
    return Task.model_validate(
        {
            **row,
            "allowed_globs": json.loads(row["allowed_globs"]),
            "candidates": json.loads(row["candidates"]),
        }
    )


def rollout_row(rollout: Rollout, diff_lines: int) -> dict[str, Any]:
    return {
        "id": rollout.id,
        "task_id": rollout.task_id,
        "policy": rollout.policy,
        "seed": rollout.seed,
        "source_path": rollout.source.path,
        "source_format": rollout.source.format,
        "source_record": rollout.source.record,
        "started_at": rollout.started_at.isoformat() if rollout.started_at else None,
        "duration_s": rollout.duration_s,
        "tokens_in": rollout.tokens_in,
        "tokens_out": rollout.tokens_out,
        "n_steps": len(rollout.steps),
        "exit_status": rollout.exit_status,
        "tests_passed": None if rollout.tests_passed is None else int(rollout.tests_passed),
        "diff_lines": diff_lines,
        "score": rollout.score,
        "flags": " ".join(rollout.flag_ids),
        "eval_id": rollout.eval_id,
        "created_at": now(),
        "parent_id": rollout.parent_id,
        "branch_step": rollout.branch_step,
        "tests_passed_own": None if rollout.tests_passed_own is None else int(rollout.tests_passed_own),
        "step_keys": " ".join(step_keys(rollout)),
    }


def body_row(rollout: Rollout, steps_blob: bytes) -> dict[str, Any]:
    return {
        "rollout_id": rollout.id,
        "steps": steps_blob,
        "final_diff": rollout.final_diff,
        "task": rollout.task.model_dump_json() if rollout.task else None,
    }


def flag_rows(rollout: Rollout) -> list[dict[str, Any]]:
    return [
        {
            "rollout_id": rollout.id,
            "check_id": flag.check,
            "weight": flag.weight,
            "message": flag.message,
            "steps": json.dumps(flag.steps),
            "heuristic": int(flag.heuristic),
            "anchor": flag.anchor,
        }
        for flag in rollout.flags
    ]


def flag_from_row(row: dict[str, Any]) -> Flag:
    return Flag(
        check=row["check_id"],
        weight=row["weight"],
        message=row["message"],
        steps=json.loads(row["steps"]),
        heuristic=bool(row["heuristic"]),
        anchor=row.get("anchor"),
    )


def rollout_from_rows(row: dict[str, Any], body: dict[str, Any] | None, flags: list[Flag]) -> Rollout:
    return Rollout(
        id=row["id"],
        task_id=row["task_id"],
        policy=row["policy"],
        seed=row["seed"],
        source=Source(path=row["source_path"], format=row["source_format"], record=row["source_record"]),
        started_at=row["started_at"],
        duration_s=row["duration_s"],
        tokens_in=row["tokens_in"],
        tokens_out=row["tokens_out"],
        steps=decode_steps(body["steps"]) if body else [],
        final_diff=body["final_diff"] if body else "",
        tests_passed=None if row["tests_passed"] is None else bool(row["tests_passed"]),
        exit_status=row["exit_status"],
        task=Task.model_validate_json(body["task"]) if body and body["task"] else None,
        eval_id=row["eval_id"],
        parent_id=row.get("parent_id"),
        branch_step=row.get("branch_step"),
        tests_passed_own=None if row.get("tests_passed_own") is None else bool(row["tests_passed_own"]),
        flags=flags,
        score=row["score"],
    )


@dataclass(frozen=True, slots=True)
class PreparedRollout:
    """A checked rollout as the rows it will be stored in: cheap to send between processes."""

    id: str
    task_id: str
    rollout: dict[str, Any]
    body: dict[str, Any]
    flags: list[dict[str, Any]]
    task: Task | None  # an embedded task definition, stored when the workspace lacks one
    truncations: list[tuple[int, int]]  # (step index, bytes cut) for import warnings


def prepared(rollout: Rollout, steps_blob: bytes, diff_lines: int) -> PreparedRollout:
    truncations = [
        (s.index, s.observation.truncated_bytes)
        for s in rollout.steps
        if s.observation is not None and s.observation.truncated_bytes
    ]
    return PreparedRollout(
        id=rollout.id,
        task_id=rollout.task_id,
        rollout=rollout_row(rollout, diff_lines),
        body=body_row(rollout, steps_blob),
        flags=flag_rows(rollout),
        task=rollout.task,
        truncations=truncations,
    )


def pair_key(a: str, b: str) -> str:
    """Order-free identity of a pair, so re-mining never proposes the same two rollouts twice."""
    return "|".join(sorted((a, b)))


def pair_row(pair: Pair) -> dict[str, Any]:
    return {
        "task_id": pair.task_id,
        "chosen_id": pair.chosen_id,
        "rejected_id": pair.rejected_id,
        "pair_key": pair_key(pair.chosen_id, pair.rejected_id),
        "score_gap": pair.score_gap,
        "reason": pair.reason,
        "differing_flags": json.dumps(pair.differing_flags),
        "mined_at": now(),
        "kind": pair.kind.value,
        "step": pair.step,
    }


def pair_from_row(row: dict[str, Any]) -> Pair:
    return Pair(
        id=row["id"],
        task_id=row["task_id"],
        chosen_id=row["chosen_id"],
        rejected_id=row["rejected_id"],
        score_gap=row["score_gap"],
        reason=row["reason"],
        differing_flags=json.loads(row["differing_flags"]),
        kind=PairKind(row.get("kind") or PairKind.ROLLOUT),
        step=row.get("step"),
    )


def preference_row(pref: Preference) -> dict[str, Any]:
    return {
        "pair_id": pref.pair_id,
        "source": pref.source.value,
        "decision": pref.decision.value,
        "chosen_id": pref.chosen_id,
        "labeler": pref.labeler,
        "tags": json.dumps(pref.tags),
        "note": pref.note,
        "left_id": pref.left_id,
        "blind": int(pref.blind),
        "created_at": (pref.created_at.isoformat() if pref.created_at else now()),
        "annotator": pref.annotator,
        "adjudicated": int(pref.adjudicated),
    }


def preference_from_row(row: dict[str, Any]) -> Preference:
    return Preference(
        id=row["id"],
        pair_id=row["pair_id"],
        decision=Decision(row["decision"]),
        chosen_id=row["chosen_id"],
        source=PreferenceSource(row["source"]),
        labeler=row["labeler"],
        tags=json.loads(row["tags"]),
        note=row["note"],
        left_id=row["left_id"],
        blind=bool(row["blind"]),
        created_at=row["created_at"],
        annotator=row["annotator"],
        adjudicated=bool(row["adjudicated"]),
    )
