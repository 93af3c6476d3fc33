"""Evaluations in the database: the job row, its rollouts (tagged with the eval's id and the
side they were rolled out for), and the comparison computed from them.

A comparison is always recomputed from the stored rollouts, never kept apart from them: the
result saved on the row is a cache of `comparison(store, eval_id)`, so a drill-down from a
mode to its rollouts shows exactly the rollouts that the rate counted.

The base side of an evaluation does not depend on the adapter, so an evaluation whose
`base_key` matches an earlier finished one reuses that one's base rollouts: its config names
the evaluation they are stored under (`before_from`), and `summaries` reads them there.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import git

from core.checks import REGISTRY
from core.config import Config, PolicyConfig
from core.evaluate.compare import compare
from core.evaluate.result import (
    Comparison,
    EvalPairComparison,
    EvalResult,
    RolloutSummary,
    SideCounts,
    SidePolicies,
)
from core.schema import EvalConfig, EvalRun, Task
from storage.jobs import FINISHED, JobTable
from storage.store import Store

POLICY_ERROR = "policy_error"  # a rollout's exit status when the model could not answer
EVALS = JobTable("evals", EvalRun, ("config", "result"), "evaluation")
LIST_COLUMNS = (
    "id, run_id, status, pid, pid_start, heartbeat, stage, done, total, config, log_path, error, created_at"
)


def create_eval(
    store: Store, run_id: str | None, config: EvalConfig | None = None, eval_id: str | None = None
) -> str:
    return EVALS.create(store, eval_id, run_id=run_id, config=config or EvalConfig())


def update_eval(store: Store, eval_id: str, **fields: Any) -> None:
    EVALS.update(store, eval_id, **fields)


def start_eval(store: Store, eval_id: str, pid: int) -> None:
    EVALS.start(store, eval_id, pid)


def end_eval(store: Store, eval_id: str, status: str, **fields: Any) -> None:
    EVALS.end(store, eval_id, status, **fields)


def get_eval(store: Store, eval_id: str) -> EvalRun | None:
    return EVALS.get(store, eval_id)


def cancel_eval(store: Store, eval_id: str) -> str:
    """Ask a running evaluation to stop; the rollouts that finished are kept. Says so in words.

    ValueError for an evaluation that is not there or not running.
    """
    pid = EVALS.stop(store, eval_id)
    return f"asked evaluation {eval_id} (pid {pid}) to stop"


def list_evals(store: Store) -> list[EvalRun]:
    """Newest first, without their results (`get_eval` has them): a list refreshed every second
    must not parse every past comparison."""
    return EVALS.list(store, LIST_COLUMNS)


def side_eval(evaluation: EvalRun, side: str) -> str:
    """The evaluation a side's rollouts are stored under: a reused base side stays in the one that ran it."""
    return (evaluation.config.before_from or evaluation.id) if side == "before" else evaluation.id


def base_key(
    policy: PolicyConfig, model: Path, tasks: list[tuple[Task, Path]], n: int, seed: int, config: Config
) -> str | None:
    """What the base side's rollouts depend on, hashed; None where it cannot be known.

    The model is its resolved folder and every top-level file's name, size and mtime (weights,
    config, tokenizer); each task its definition and its repository's HEAD. The checks config is
    in it too: flags and scores are stored when a rollout is, so reused rollouts must have been
    checked as the new side will be. A served model (`openai`) cannot be fingerprinted: None.
    """
    if policy.kind == "openai":
        return None
    root = model.resolve()
    files = (
        sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in root.glob("*") if f.is_file())
        if root.is_dir()
        else []
    )
    material = {
        "version": _tool_version(),
        "model": [str(root), files],
        # Concurrency changes only how many run at once, not what each rollout does; the base side
        # has no adapter, so how an adapter's preferences are weighed cannot change it either.
        "policy": policy.model_dump(
            mode="json", exclude={"adapter", "model", "concurrency", "adapter_temperature", "adapter_ratio"}
        ),
        "tasks": [[t.model_dump(mode="json"), _head(repo)] for t, repo in tasks],
        "n": n,
        "seed": seed,
        "rollout": config.rollout.model_dump(mode="json", include={"step_limit", "malformed_in_a_row"}),
        "checks": config.checks.model_dump(mode="json"),
    }
    return hashlib.blake2b(json.dumps(material, sort_keys=True).encode(), digest_size=12).hexdigest()


def reusable_before(store: Store, key: str, expected: int) -> tuple[str, str] | None:
    """(`before_from`, `before_policy`) of the newest finished evaluation with this `base_key`
    whose base side is complete (`expected` rollouts) and free of policy errors; else None."""
    for row in store.db.query(
        "SELECT * FROM evals WHERE status = ? AND json_extract(config, '$.base_key') = ?"
        " ORDER BY created_at DESC, id DESC",
        [FINISHED, key],
    ):
        found = EVALS.decode(row)
        if found.result is not None and found.result.policy_errors.before:
            continue
        source, policy = side_eval(found, "before"), found.config.before_policy
        stored = store.scalar(
            "SELECT count(*) FROM rollouts WHERE eval_id = ? AND policy = ?", [source, policy]
        )
        if stored == expected:
            return source, policy
    return None


def summaries(store: Store, eval_id: str, side: str, mode: str | None = None) -> list[RolloutSummary]:
    """The eval's rollouts of one side (optionally only those flagged with `mode`), light rows."""
    row = get_eval(store, eval_id)
    if row is None:
        raise ValueError(f"no evaluation {eval_id}")
    policy = row.config.side_policy(side)
    out = []
    for r in store.db.query(
        "SELECT id, task_id, seed, flags, tests_passed, tests_passed_own, n_steps, diff_lines, score,"
        " exit_status FROM rollouts WHERE eval_id = ? AND policy = ? ORDER BY task_id, seed",
        [side_eval(row, side), policy],
    ):
        flags = r["flags"].split() if r["flags"] else []
        if mode is None or mode in flags or (mode == "overall" and flags):
            out.append(
                RolloutSummary(
                    id=r["id"],
                    task_id=r["task_id"],
                    seed=r["seed"],
                    flags=flags,
                    tests_passed=_known_bool(r["tests_passed"]),
                    n_steps=r["n_steps"],
                    diff_lines=r["diff_lines"],
                    score=r["score"],
                    tests_passed_own=_known_bool(r["tests_passed_own"]),
                    exit_status=r["exit_status"],
                )
            )
    return out


def comparison(
    store: Store, eval_id: str, alpha: float = 0.05, disabled: list[str] | tuple[str, ...] = ()
) -> EvalResult:
    """The `eval --json` document (keys documented in the README).

    Disabled checks are left out: a rate of 0% for a check that never ran would read as "absent".
    Rollouts that ended in a policy error (the model unreachable) are counted and warned about.
    """
    row = get_eval(store, eval_id)
    if row is None:
        raise ValueError(f"no evaluation {eval_id}")
    before, after = summaries(store, eval_id, "before"), summaries(store, eval_id, "after")
    seen = {f for s in before + after for f in s.flags}
    modes = sorted((set(REGISTRY) | seen) - set(disabled))
    result = compare(before, after, modes, alpha=alpha)
    errors = SideCounts(before=_policy_errors(before), after=_policy_errors(after))
    for side, count, total in (("before", errors.before, len(before)), ("after", errors.after, len(after))):
        if count:
            result.warnings.insert(
                0,
                f"{count} of {total} {side} rollouts ended in a policy error (the model was "
                "unreachable or failed): their flags say nothing about behaviour",
            )
    config = row.config
    header = {
        "eval_id": eval_id,
        "run_id": row.run_id,
        "tasks": config.tasks,
        "n_per_task": config.n,
        "seed": config.seed,
        "policies": SidePolicies(before=config.before_policy, after=config.after_policy),
        "reused_before_from": config.before_from,
        "policy_errors": errors,
    }
    return EvalResult.model_validate({**header, **_set_fields(result)})


def compare_evals(store: Store, first: str, second: str, alpha: float = 0.05) -> EvalPairComparison:
    """Two evaluations' tuned sides against each other (first as "before"): which run did better."""
    a, b = summaries(store, first, "after"), summaries(store, second, "after")
    seen = {f for s in a + b for f in s.flags}
    result = compare(a, b, sorted(set(REGISTRY) | seen), alpha=alpha)
    return EvalPairComparison.model_validate({"eval_ids": (first, second), **_set_fields(result)})


def _set_fields(result: Comparison) -> dict[str, object]:
    """A comparison's fields as given, to carry into a document with a header (unset ones stay unset)."""
    return {name: getattr(result, name) for name in result.model_fields_set}


def _policy_errors(rows: list[RolloutSummary]) -> int:
    return sum(r.exit_status == POLICY_ERROR for r in rows)


def _known_bool(value: object) -> bool | None:
    return None if value is None else bool(value)


def _head(repo: Path) -> str:
    with git.Repo(repo) as repository:  # closed: its `git cat-file` helpers end with it
        return str(repository.head.commit.hexsha)


def _tool_version() -> str:
    """This package's version; "source" when it runs from a checkout that was never installed
    (PYTHONPATH, a copied tree on a GPU box), where there is no metadata to read."""
    try:
        return metadata.version("agentpref-tui")
    except metadata.PackageNotFoundError:
        return "source"
