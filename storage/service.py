"""The operations the CLI and the screens call: mine, auto-label, export, status.

Each takes an open Store and the workspace config, and wires core's pure functions to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.actions import classify
from core.agent.branch import BranchPoint, fix_due, fixing_edit, plan
from core.agreement.labels import LabelPolicy
from core.chat import Rendering
from core.checks import REGISTRY
from core.config import Config
from core.export import NotExportable, preference_row
from core.granularity import Granularity
from core.pairs import FIXED, Scored, mine
from core.remedies import FIX_ATTEMPT, answered
from core.schema import (
    ActionKind,
    Decision,
    Pair,
    PairKind,
    Preference,
    PreferenceSource,
    Rollout,
    Task,
    ToolCall,
)
from storage.agreement import annotator_counts
from storage.evals import EVALS
from storage.ingest import load_checks
from storage.runs import list_runs
from storage.store import Store


@dataclass
class MineResult:
    proposals: int
    added: int
    dropped: int
    rescored: int
    anchored: int = 0  # branch and anchored pairs: those whose lesson sits at a known step


def mine_proposals(store: Store, config: Config) -> MineResult:
    """Re-score from the config's current weights, then propose pairs; decisions are kept."""
    rescored = rescore(store, config)
    store.backfill_step_keys()
    details = store.flag_details()
    disabled = set(config.checks.disabled)
    scored = []
    for row in store.rollout_summaries():
        flags = {c: d for c, d in details.get(row["id"], {}).items() if c not in disabled}
        scored.append(
            Scored(
                id=row["id"],
                task_id=row["task_id"],
                score=row["score"],
                flags=frozenset(c for c in row["flags"] if c not in disabled),
                messages={c: d[0] for c, d in flags.items()},
                weights={c: config.checks.weight(c, d[1]) for c, d in flags.items()},
                anchors={c: d[2] for c, d in flags.items()},
                step_keys=tuple((row["step_keys"] or "").split()),
                passed=None if row["tests_passed"] is None else bool(row["tests_passed"]),
                parent_id=row["parent_id"],
                branch_step=row["branch_step"],
            )
        )
    loaded: dict[str, Rollout | None] = {}  # a parent sits in many pairs: read each rollout once
    tasks = {t.id: t for t in store.tasks()}
    calls: dict[tuple[str, int], ToolCall | None] = {}

    def call_at(rollout_id: str, index: int) -> ToolCall | None:  # index: in step_keys' order
        if (rollout_id, index) not in calls:
            calls[rollout_id, index] = store.tool_call(rollout_id, index)
        return calls[rollout_id, index]

    def kind_at(rollout_id: str, index: int) -> ActionKind | None:
        action = classify(call_at(rollout_id, index))
        return action.kind if action is not None else None

    def answers(lesson: str, chosen: Scored, rejected: Scored, index: int) -> bool:
        return answered(
            lesson, call_at(rejected.id, index), call_at(chosen.id, index), tasks.get(rejected.task_id)
        )

    pairs = [_name_actions(store, p, loaded) for p in mine(scored, config.mining, kind_at, answers)]
    added, dropped = store.replace_proposals(pairs)
    return MineResult(
        proposals=len(pairs),
        added=added,
        dropped=dropped,
        rescored=rescored,
        anchored=sum(p.kind is not PairKind.ROLLOUT for p in pairs),
    )


def _name_actions(store: Store, pair: Pair, loaded: dict[str, Rollout | None]) -> Pair:
    """'step 5: A ran the tests where B finished: B ran no tests' — the one choice a pair teaches."""
    if pair.kind is PairKind.ROLLOUT or pair.step is None:
        return pair

    def command(rollout_id: str, index: int) -> str:
        if rollout_id not in loaded:
            loaded[rollout_id] = store.rollout(rollout_id)
        return step_command(loaded[rollout_id], index)

    chosen, rejected = command(pair.chosen_id, pair.step), command(pair.rejected_id, pair.step)
    where = f"step {pair.step + 1}" + (" (branch)" if pair.kind is PairKind.BRANCH else "")
    return pair.model_copy(update={"reason": f"{where}: A `{chosen}` where B `{rejected}`; {pair.reason}"})


def step_command(rollout: Rollout | None, index: int, width: int = 60) -> str:
    """A short, one-line text of what step `index` of a rollout did."""
    if rollout is None or index >= len(rollout.steps):
        return "?"
    step = rollout.steps[index]
    text = step.action.command if step.action is not None else (step.malformed or "no tool call")
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


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
            store.record_preference(auto_preference(pair, labeler))
            accepted += 1
    return accepted


def auto_preference(pair: Pair, labeler: str = "checks") -> Preference:
    """The checks' side of `pair` as an automatic preference (nobody's decision)."""
    return Preference(
        pair_id=pair.id or 0,
        decision=Decision.PREFER,
        chosen_id=pair.chosen_id,
        source=PreferenceSource.AUTO,
        labeler=labeler,
    )


@dataclass
class ExportResult:
    rows: int = 0
    skipped: list[str] = field(default_factory=list)


def dataset_rows(
    store: Store,
    granularity: Granularity,
    rendering: Rendering,
    human_only: bool = False,
    result: ExportResult | None = None,
    policy: LabelPolicy = LabelPolicy.MAJORITY,
) -> Iterator[dict[str, Any]]:
    """TRL rows for every decided preference (ties and skips are not pairs). Of several
    annotators' decisions on a pair, the one `policy` (`[train] label_policy`) picks; pairs it
    drops for disagreement are left out.

    Observations are shown as the policy's prompt shows them (`rendering`: `Rendering.of` the
    workspace's `[policy]`), so the model is trained on what it will see.
    """
    result = result if result is not None else ExportResult()
    tasks = {t.id: t for t in store.tasks()}
    for pref in store.effective_preferences(policy):
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
            row = preference_row(
                chosen,
                rejected,
                granularity,
                task.instruction if (task := tasks.get(pair.task_id)) else "",
                rendering,
            )
        except NotExportable as exc:
            result.skipped.append(f"pair {pair.id}: {exc}")
            continue
        row.update(
            pair_id=pair.id,
            task_id=pair.task_id,
            source=pref.source.value,
            lessons=_lessons(pair, chosen, rejected, tasks.get(pair.task_id)),
        )
        result.rows += 1
        yield row


def _lessons(pair: Pair, chosen: Rollout, rejected: Rollout, task: Task | None) -> list[str]:
    """What the row teaches, as mining taught it: the rejected side's flags anchored at the
    pair's step that the chosen side has not there and whose remedy it took, else the fix when
    only the outcome tells them apart (none for whole-rollout pairs, or when a person chose the
    side mining rejected)."""
    step = pair.step
    if pair.kind is PairKind.ROLLOUT or step is None or step >= min(len(chosen.steps), len(rejected.steps)):
        return []
    at_step = {f.check for f in rejected.flags if f.anchor == step} - {
        f.check for f in chosen.flags if f.anchor == step
    }
    calls = rejected.steps[step].tool_call, chosen.steps[step].tool_call
    lessons = [lesson for lesson in sorted(at_step) if answered(lesson, *calls, task)]
    if not lessons and chosen.tests_passed and rejected.tests_passed is False:
        return [FIXED]
    return lessons


def export_dataset(
    store: Store,
    out: Path,
    granularity: Granularity,
    rendering: Rendering,
    human_only: bool = False,
    policy: LabelPolicy = LabelPolicy.MAJORITY,
) -> ExportResult:
    """`policy`: the caller passes the workspace's `[train] label_policy`; `rendering`, how its
    policy is shown observations (`Rendering.of(config.policy)`)."""
    result = ExportResult()
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in dataset_rows(store, granularity, rendering, human_only, result, policy=policy):
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
    # Where no separate run in the agent's worktree was made (imports), the one outcome is both.
    passed_own = store.scalar(
        "SELECT count(*) FROM rollouts WHERE eval_id IS NULL AND coalesce(tests_passed_own, tests_passed) = 1"
    )
    return {
        "tasks": store.scalar("SELECT count(*) FROM tasks"),
        "rollouts": rollouts,
        "eval_rollouts": store.scalar("SELECT count(*) FROM rollouts WHERE eval_id IS NOT NULL"),
        "flag_rates": {c: (counts.get(c, 0) / rollouts if rollouts else 0.0) for c in check_ids},
        "tests_passed_rate": passed / rollouts if rollouts else 0.0,
        "pass_rate_own_tests": passed_own / rollouts if rollouts else 0.0,
        "proposals": store.scalar("SELECT count(*) FROM pairs"),
        "proposals_pending": store.scalar(
            "SELECT count(*) FROM pairs"
            " WHERE id NOT IN (SELECT pair_id FROM preferences WHERE decision != 'skip')"
        ),
        "preferences": {"human": by_source.get("human", 0), "auto": by_source.get("auto", 0)},
        "preferences_by_decision": by_decision,
        "annotators": annotator_counts(store),  # name -> human decisions, skips left out
        "runs": [
            {
                "id": r.id,
                "status": r.shown_status,  # `lost` when a running job stopped beating
                "adapter_path": r.adapter_path,
                "final_metrics": r.final_metrics,
            }
            for r in reversed(list_runs(store))
        ],
        "evals": [
            {"id": e.id, "run_id": e.run_id, "status": e.shown_status}
            for e in map(EVALS.decode, store.evals())
        ],
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


def branch_points(
    store: Store,
    config: Config,
    rollout_id: str | None = None,
    step: int | None = None,
    tasks: list[str] | None = None,
) -> list[BranchPoint]:
    """Where to branch: the named rollout (at `step`, or at each of its flags' anchors), or every
    train rollout's flagged steps, planned `[branch] per_task` a task.

    Points already branched, branches themselves and evaluation rollouts are left out; a state
    reached by several rollouts is branched once.
    """
    store.backfill_step_keys()
    details = store.flag_details()
    disabled = set(config.checks.disabled)
    # Passing rollouts are also branched at their fix (`fixing_edit`), failing ones where the fix
    # was due (`fix_due`), where they can be replayed
    tasks_by_id = {t.id: t for t in store.tasks()}
    runnable = {t.id for t in tasks_by_id.values() if t.repo_path}
    done = {
        (r[0], r[1])
        for r in store.db.execute("SELECT parent_id, branch_step FROM rollouts WHERE parent_id IS NOT NULL")
    }
    if rollout_id is not None:
        row = next(store.db.query("SELECT * FROM rollouts WHERE id = ?", [rollout_id]), None)
        if row is None:
            raise ValueError(f"no rollout {rollout_id}")
        candidates = [row]
    else:
        wanted = set(tasks) if tasks is not None else None
        candidates = [
            r
            for r in store.db.query("SELECT * FROM rollouts WHERE eval_id IS NULL AND parent_id IS NULL")
            if wanted is None or r["task_id"] in wanted
        ]
    points = []
    for row in candidates:
        keys = (row["step_keys"] or "").split()
        anchors = {
            (c, d[2]) for c, d in details.get(row["id"], {}).items() if c not in disabled and d[2] is not None
        }
        if step is not None:  # the heaviest lesson there names the point (its remedy goes first)
            here = sorted((c for c, s in anchors if s == step), key=lambda c: (-config.checks.weight(c), c))
            anchors = {(here[0] if here else "", step)}
        if step is None and row["tests_passed"] is not None and row["task_id"] in runnable:
            rollout = store.rollout(row["id"])
            if row["tests_passed"]:
                fixing = fixing_edit(rollout, tasks_by_id.get(row["task_id"]))
                if fixing is not None:
                    anchors.add((FIXED, fixing))
            else:
                due = fix_due(rollout, tasks_by_id.get(row["task_id"]))
                if due is not None:
                    anchors.add((FIX_ATTEMPT, due))
        for check, where in sorted(anchors, key=lambda a: (a[1], a[0])):
            if where < len(keys) and (step is not None or (row["id"], where) not in done):
                state = " ".join(keys[:where])
                points.append(BranchPoint(row["id"], row["task_id"], where, check, state))
    if rollout_id is not None:
        return sorted(points, key=lambda p: p.step)
    return plan(points, config.branch.per_task)
