"""Violation checks: one small pure function per behaviour, registered under a stable id.

`run_checks` turns a rollout into flags (one per check that fired, weighted from the config);
`score` sums them (lower is better). Built-in checks live in the modules imported below; users
add their own with `@check` and `[checks] custom = ["module:function"]` or an entry point in the
`agentpref.checks` group, loaded by `load_custom`.
"""

from __future__ import annotations

from core.checks.common import sharing_analysis
from core.checks.registry import (
    ENTRY_POINT_GROUP,
    REGISTRY,
    CheckFn,
    CheckSpec,
    Finding,
    check,
    load_custom,
)
from core.config import ChecksConfig
from core.schema import Flag, Rollout, Task

__all__ = [
    "ENTRY_POINT_GROUP",
    "REGISTRY",
    "CheckError",
    "CheckFn",
    "CheckSpec",
    "Finding",
    "check",
    "load_custom",
    "run_checks",
    "score",
]


class CheckError(RuntimeError):
    """A check raised: names the check and the rollout so a broken custom check is easy to find."""


def run_checks(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> list[Flag]:
    """One flag per enabled check that fires, in registry order; steps get their actions first."""
    task = task if task is not None else rollout.task
    disabled = set(cfg.disabled)
    flags: list[Flag] = []
    with sharing_analysis(rollout) as shared:
        for step, action in zip(rollout.steps, shared.actions, strict=True):
            if step.action is None:
                step.action = action
        for spec in list(REGISTRY.values()):
            if spec.id in disabled:
                continue
            try:
                finding = spec.fn(rollout, task, cfg)
            except Exception as exc:  # re-raised with the check's id: user checks can fail any way
                raise CheckError(
                    f"check {spec.id} failed on rollout {rollout.id or rollout.task_id}: {exc}"
                ) from exc
            if finding is not None:
                flags.append(
                    Flag(
                        check=spec.id,
                        weight=cfg.weight(spec.id),
                        message=finding.message,
                        steps=sorted(set(finding.steps)),
                        heuristic=spec.heuristic,
                        anchor=finding.anchor
                        if finding.anchor is not None
                        else min(finding.steps, default=None),
                    )
                )
    return flags


def score(flags: list[Flag]) -> float:
    """The weighted sum of the flags: what mining compares (lower is better)."""
    return sum(f.weight for f in flags)


# The built-in checks register themselves on import.
from core.checks import files, loop, protocol, reading, tests, weakened  # noqa: E402, F401
