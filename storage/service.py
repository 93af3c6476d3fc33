"""The operations the CLI and the screens call: mine, auto-label, export, status.

Each takes an open Store and the workspace config, and wires core's pure functions to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.checks import REGISTRY
from core.config import Config
from core.export import Granularity, NotExportable, preference_row
from core.pairs import Scored, mine
from core.schema import Decision, Preference, PreferenceSource, Task
from storage.ingest import load_checks
from storage.jobs import shown_status
from storage.runs import list_runs
from storage.store import Store


@dataclass
class MineResult:
    proposals: int
    added: int
    dropped: int
    rescored: int


def mine_proposals(store: Store, config: Config) -> MineResult:
    """Re-score from the config's current weights, then propose pairs; decisions are kept."""
    rescored = rescore(store, config)
    messages = store.flag_messages()
    scored = [
        Scored(
            id=row["id"],
            task_id=row["task_id"],
            score=row["score"],
            flags=frozenset(row["flags"]),
            messages=messages.get(row["id"], {}),
        )
        for row in store.rollout_summaries()
    ]
    pairs = mine(scored, config.mining)
    added, dropped = store.replace_proposals(pairs)
    return MineResult(proposals=len(pairs), added=added, dropped=dropped, rescored=rescored)


def rescore(store: Store, config: Config) -> int:
    """Apply the config's weights to stored flags, so a weight change needs no re-import."""
    load_checks(config)
    disabled = set(config.checks.disabled)
    changed = []
    flags: dict[str, list[tuple[str, float]]] = {}
    for rollout_id, check_id, weight in store.db.execute("SELECT rollout_id, check_id, weight FROM flags"):
        flags.setdefault(rollout_id, []).append((check_id, weight))
    for rollout_id, old_score in store.db.execute("SELECT id, score FROM rollouts"):
        new = sum(config.checks.weight(c, w) for c, w in flags.get(rollout_id, []) if c not in disabled)
        if abs(new - old_score) > 1e-9:
            changed.append((new, rollout_id))
    if changed:
        with store.write():
            store.db.conn.executemany("UPDATE rollouts SET score = ? WHERE id = ?", changed)
    return len(changed)


def auto_label(store: Store, min_gap: float | None = None, labeler: str = "checks") -> int:
    """Accept every pending proposal (gap at least `min_gap`) as an automatic preference."""
    accepted = 0
    with store.write():
        for pair in store.pairs(pending_only=True):
            if min_gap is not None and pair.score_gap < min_gap:
                continue
            store.record_preference(
                Preference(
                    pair_id=pair.id or 0,
                    decision=Decision.PREFER,
                    chosen_id=pair.chosen_id,
                    source=PreferenceSource.AUTO,
                    labeler=labeler,
                )
            )
            accepted += 1
    return accepted


@dataclass
class ExportResult:
    rows: int = 0
    skipped: list[str] = field(default_factory=list)


def dataset_rows(
    store: Store, granularity: Granularity, human_only: bool = False, result: ExportResult | None = None
) -> Iterator[dict[str, Any]]:
    """TRL rows for every decided preference (ties and skips are not pairs)."""
    result = result if result is not None else ExportResult()
    instructions = {t.id: t.instruction for t in store.tasks()}
    for pref in store.effective_preferences():
        if pref.decision is not Decision.PREFER or (human_only and pref.source is not PreferenceSource.HUMAN):
            continue
        pair = store.pair(pref.pair_id)
        if pair is None:
            continue
        rejected_id = pair.rejected_id if pref.chosen_id == pair.chosen_id else pair.chosen_id
        chosen, rejected = store.rollout(pref.chosen_id or ""), store.rollout(rejected_id)
        if chosen is None or rejected is None:
            result.skipped.append(f"pair {pair.id}: a rollout is missing")
            continue
        try:
            row = preference_row(chosen, rejected, granularity, instructions.get(pair.task_id, ""))
        except NotExportable as exc:
            result.skipped.append(f"pair {pair.id}: {exc}")
            continue
        row.update(pair_id=pair.id, task_id=pair.task_id, source=pref.source.value)
        result.rows += 1
        yield row


def export_dataset(
    store: Store, out: Path, granularity: Granularity, human_only: bool = False
) -> ExportResult:
    result = ExportResult()
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in dataset_rows(store, granularity, human_only, result):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    if result.rows:
        tmp.replace(out)
    else:
        tmp.unlink()  # nothing to train on: leave no empty dataset behind
    return result


def status(store: Store) -> dict[str, Any]:
    """The stable `status --json` document (keys documented in the README)."""
    rollouts = store.scalar("SELECT count(*) FROM rollouts WHERE eval_id IS NULL")
    counts = dict(
        store.db.execute(
            "SELECT f.check_id, count(*) FROM flags f JOIN rollouts r ON r.id = f.rollout_id"
            " WHERE r.eval_id IS NULL GROUP BY f.check_id"
        ).fetchall()
    )
    check_ids = sorted(set(REGISTRY) | set(counts))
    by_source = dict(store.db.execute("SELECT source, count(*) FROM preferences GROUP BY source").fetchall())
    by_decision: dict[str, dict[str, int]] = {"human": {}, "auto": {}}
    for source, decision, count in store.db.execute(
        "SELECT source, decision, count(*) FROM preferences GROUP BY source, decision"
    ):
        by_decision[source][decision] = count
    passed = store.scalar("SELECT count(*) FROM rollouts WHERE eval_id IS NULL AND tests_passed = 1")
    return {
        "tasks": store.scalar("SELECT count(*) FROM tasks"),
        "rollouts": rollouts,
        "eval_rollouts": store.scalar("SELECT count(*) FROM rollouts WHERE eval_id IS NOT NULL"),
        "flag_rates": {c: (counts.get(c, 0) / rollouts if rollouts else 0.0) for c in check_ids},
        "tests_passed_rate": passed / rollouts if rollouts else 0.0,
        "proposals": store.scalar("SELECT count(*) FROM pairs"),
        "proposals_pending": store.scalar(
            "SELECT count(*) FROM pairs WHERE id NOT IN (SELECT pair_id FROM preferences)"
        ),
        "preferences": {"human": by_source.get("human", 0), "auto": by_source.get("auto", 0)},
        "preferences_by_decision": by_decision,
        "runs": [
            {
                "id": r["id"],
                "status": r["shown_status"],  # `lost` when a running job stopped beating
                "adapter_path": r["adapter_path"],
                "final_metrics": r["final_metrics"],
            }
            for r in reversed(list_runs(store))
        ],
        "evals": [{"id": e["id"], "run_id": e["run_id"], "status": shown_status(e)} for e in store.evals()],
    }


def register_tasks(store: Store, tasks: list[Task]) -> None:
    with store.write():
        for task in tasks:
            store.upsert_task(task)


def select_tasks(store: Store, spec: str) -> list[Task]:
    """`train`, `heldout`, `all`, or comma-separated ids; only tasks the harness can run."""
    runnable = [t for t in store.tasks() if t.repo_path]
    if spec in ("train", "heldout"):
        chosen = [t for t in runnable if t.split == spec]
    elif spec == "all":
        chosen = runnable
    else:
        wanted = [s.strip() for s in spec.split(",") if s.strip()]
        by_id = {t.id: t for t in runnable}
        unknown = [w for w in wanted if w not in by_id]
        if unknown:
            known = ", ".join(sorted(by_id)) or "none"
            raise ValueError(f"unknown task(s): {', '.join(unknown)} (tasks with a repository: {known})")
        chosen = [by_id[w] for w in wanted]
    return chosen
