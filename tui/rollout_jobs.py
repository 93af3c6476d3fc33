"""Rollouts, branches and the demo build, wired to the workspace (the jobs `rollout`, `branch`,
`eval` and `init --demo` run, and the app's branching).

Core's jobs take callbacks; here they are connected to storage, once, for both the command
line and the app. Nothing here imports Textual; torch is imported only inside the jobs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from core.agent.branch import BranchPoint, NotBranchable, ReplayMismatch, branch, known_fix
from core.agent.policies import build_policy
from core.agent.runner import jobs_for, run_rollouts
from core.agent.tools import TOOL_SCHEMAS
from core.checks.files import diff_budget
from core.config import PolicyConfig
from core.remedies import EDIT_REMEDIES
from core.schema import Rollout, Task, ToolCall
from core.tasks import install_demo_suite
from core.tiny_model import build_tiny_model
from storage import service
from storage.ingest import RolloutSink
from storage.store import Store
from storage.workspace import Workspace

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class RolloutSummary:
    finished: int  # rollouts that ran to the end
    stored: int  # of those, new to the workspace (a rerun of the same seed adds none)
    total: int
    interrupted: bool
    policy: str = ""  # the label its rollouts carry, e.g. "scored:tiny+run-2"


def task_repo(ws: Workspace, task: Task) -> Path:
    """The task's repository, which must be the workspace's own folder for it.

    Only `tasks add`, `tasks import-quixbugs` and `init --demo` put a repository there, from
    folders the user named; a path that came from anywhere else (an old import that stored one)
    is refused, so nothing a data file says is ever run or copied.
    """
    if not task.repo_path:
        raise ValueError(
            f"task {task.id} has no repository (imported rollouts only): it cannot be rolled out"
        )
    return _own_folder(ws, task, "repo", task.repo_path)


def task_reference(ws: Workspace, task: Task) -> Path | None:
    """The task's reference fix, held to the same rule as its repository."""
    return _own_folder(ws, task, "reference", task.reference_dir) if task.reference_dir else None


def _own_folder(ws: Workspace, task: Task, name: str, stored: str) -> Path:
    own = ws.tasks_dir / task.id / name
    tasks_dir = ws.tasks_dir.resolve()
    path = (ws.root / stored).resolve()
    if path != own.resolve() or tasks_dir not in path.parents:
        raise ValueError(
            f"task {task.id}: {name} {stored!r} is not the workspace's own folder for it "
            f"({own.relative_to(ws.root)}); only `tasks add`, `tasks import-quixbugs` and "
            "`init --demo` make runnable tasks"
        )
    return path


def run_rollout_job(
    ws: Workspace,
    tasks: list[Task],
    n: int,
    seed: int,
    on_progress: Progress | None = None,
    stop: threading.Event | None = None,
    adapter: Path | None = None,
    eval_id: str | None = None,
    policy_config: PolicyConfig | None = None,
) -> RolloutSummary:
    """Roll the configured policy (or `policy_config`) out, storing and checking each rollout."""
    config = ws.config()
    policy = build_policy(policy_config or config.policy, ws.root, adapter, config.sandbox.allow_unconfined)
    jobs = jobs_for([(t, task_repo(ws, t)) for t in tasks], n, seed)
    stop = stop or threading.Event()
    with ws.store() as store:
        sink = RolloutSink(store, config)

        def store_one(rollout: Rollout) -> None:
            rollout.eval_id = eval_id
            sink(rollout)
            if on_progress:
                on_progress("rollouts", sink.stored, len(jobs))

        if on_progress:
            on_progress("rollouts", 0, len(jobs))
        try:
            finished = run_rollouts(jobs, policy, config.rollout, config.policy.concurrency, store_one, stop)
        except KeyboardInterrupt:
            return RolloutSummary(sink.stored, sink.stored, len(jobs), interrupted=True, policy=policy.label)
    return RolloutSummary(finished, sink.stored, len(jobs), interrupted=stop.is_set(), policy=policy.label)


@dataclass
class BranchSummary:
    points: int  # branch points tried
    stored: int  # new branch rollouts
    refused: list[str] = field(default_factory=list)  # points that could not be branched, and why
    interrupted: bool = False


def known_fixes(ws: Workspace, store: Store, tasks: list[Task]) -> dict[str, ToolCall]:
    """Per task, an edit known to fix it (`core.agent.branch.known_fix`), where one is; a task
    with no repository (imported rollouts only) has none: nothing can be run to know."""
    by_id = {t.id: t for t in tasks if t.repo_path}
    passing: dict[str, list[Rollout]] = {}
    for row in store.rollout_summaries():
        if row["task_id"] in by_id and row["tests_passed"]:
            rollout = store.rollout(row["id"])
            if rollout is not None:
                passing.setdefault(row["task_id"], []).append(rollout)
    config = ws.config()

    def one(task_id: str) -> ToolCall | None:
        task = by_id[task_id]
        return known_fix(passing[task_id], task, task_repo(ws, task), diff_budget(task, config.checks))

    # Each candidate is a test run in its own checkout: tasks side by side, as rollouts run.
    with ThreadPoolExecutor(max_workers=config.policy.concurrency, thread_name_prefix="fix") as pool:
        found = dict(zip(passing, pool.map(one, passing), strict=True))
    return {task_id: fix for task_id, fix in found.items() if fix is not None}


def run_branch_job(
    ws: Workspace,
    points: list[BranchPoint],
    n: int | None = None,
    on_progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> BranchSummary:
    """Branch each point with the configured policy, storing and checking every branch.

    A point whose prefix does not replay (the task changed) is refused with the reason and the
    others go on. Points run `[policy] concurrency` at a time.
    """
    config = ws.config()
    n = n or config.branch.n
    stop = stop or threading.Event()
    policy = build_policy(config.policy, ws.root, allow_unconfined=config.sandbox.allow_unconfined)
    summary = BranchSummary(points=len(points), stored=0)
    with ws.store() as store:
        tasks = {t.id: t for t in store.tasks() if t.repo_path}
        sink = RolloutSink(store, config)

        parents = {p.rollout_id: store.rollout(p.rollout_id) for p in points}
        wanted = {p.task_id for p in points}
        fixes = (
            known_fixes(ws, store, [t for t in tasks.values() if t.id in wanted])
            if config.branch.defer or any(p.check in EDIT_REMEDIES for p in points)
            else {}
        )

        def one(point: BranchPoint) -> list[Rollout]:
            parent, task = parents[point.rollout_id], tasks.get(point.task_id)
            if stop.is_set() or parent is None:
                return []
            repo = task_repo(ws, task) if task is not None else None
            return branch(
                parent,
                task,
                repo,
                point.step,
                policy,
                config.rollout,
                n,
                config.branch.temperature,
                stop,
                lesson=point.check,
                defer=config.branch.defer,
                fix=fixes.get(point.task_id),
            )

        done = 0
        if on_progress:
            on_progress("branches", 0, len(points))
        with ThreadPoolExecutor(max_workers=config.policy.concurrency, thread_name_prefix="branch") as pool:
            futures = {pool.submit(one, p): p for p in points}
            try:
                for future in as_completed(futures):
                    point = futures[future]
                    try:
                        for rollout in future.result():
                            sink(rollout)
                    except (NotBranchable, ReplayMismatch) as exc:
                        summary.refused.append(f"rollout {point.rollout_id} step {point.step + 1}: {exc}")
                    done += 1
                    if on_progress:
                        on_progress("branches", done, len(points))
            except KeyboardInterrupt:
                stop.set()
                summary.interrupted = True
        summary.stored = sink.stored
        summary.interrupted = summary.interrupted or stop.is_set()
    return summary


def model_corpus(tasks: list[Task], ws: Workspace) -> Iterator[str]:
    """What the demo tokenizer is trained on: the tasks' texts and the action vocabulary."""
    yield json.dumps(TOOL_SCHEMAS)
    for task in tasks:
        yield task.instruction
        repo = task_repo(ws, task)
        for path in sorted(repo.rglob("*")):
            if path.is_file() and ".git" not in path.parts:
                rel = str(path.relative_to(repo))
                yield rel
                yield path.read_text(encoding="utf-8", errors="replace")
                yield json.dumps({"name": "read_file", "arguments": {"path": rel}})
        for candidate in task.candidates:
            yield json.dumps(
                {"name": "edit", "arguments": candidate.model_dump(include={"path", "old", "new"})}
            )
    for name in ("list_files", "run_tests", "finish", "search"):
        yield json.dumps({"name": name, "arguments": {}})


# An untrained tiny model's action scores differ by ~0.1 nat. Half the rollouts sample almost
# greedily (they repeat themselves, as weak agents do), half more freely (they wander).
DEMO_TEMPERATURE = "[0.01, 0.03]"
# Divided by the sampling temperature, the adapter's log-ratio (~1 nat where the actions part)
# outweighs every difference the state makes and the tuned policy repeats one favourite action;
# divided by 1, it changes nothing. Chosen by experiment (README, "The demo's own result").
DEMO_ADAPTER_TEMPERATURE = "0.083"  # 1/12
# The demo's model attends this many tokens back (`core.tiny_model`): the last observation and its
# state note, which it could not pick out of a whole prompt. Within it, a note is what tells one
# state from another.
DEMO_ATTENTION_WINDOW = 64


def tune_demo_policy(ws: Workspace) -> None:
    """Set the demo's temperatures and turn its state notes on, unless the user already changed
    the defaults."""
    text = ws.config_path.read_text(encoding="utf-8")
    for key, value in (("temperature", DEMO_TEMPERATURE), ("adapter_temperature", DEMO_ADAPTER_TEMPERATURE)):
        default = re.compile(rf"^{key} = (1|0)\.0\b.*$", re.M)
        text = default.sub(f"{key} = {value}  # tuned to the demo's tiny model", text, count=1)
    notes = re.compile(r"^state_notes = false\b.*$", re.M)
    text = notes.sub("state_notes = true  # the demo's model reads its state from them", text, count=1)
    ws.config_path.write_text(text, encoding="utf-8")


def set_demo_seed(ws: Workspace, seed: int) -> None:
    """Record the build's seed as `[rollout] seed`, so the workspace says how it was made."""
    text = ws.config_path.read_text(encoding="utf-8")
    section = re.search(r"^\[rollout\]$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    if section is None:
        raise ValueError(f"{ws.config_path}: no [rollout] section to record the seed in")
    body = re.sub(r"^seed = .*$", f"seed = {seed}", section.group(1), count=1, flags=re.M)
    if body == section.group(1) and f"seed = {seed}" not in body:
        body = f"\nseed = {seed}" + body
    ws.config_path.write_text(text[: section.start(1)] + body + text[section.end(1) :], encoding="utf-8")


def build_demo(
    ws: Workspace,
    on_progress: Progress | None = None,
    rollouts_per_task: int | None = None,
    seed: int | None = None,
    branch_points_per_task: int | None = None,
    branch_n: int | None = None,
) -> dict:
    """Tasks, the tiny model, scored rollouts on the train tasks, branches at their flagged
    steps (so the pairs teach each lesson where it lives), mined proposals."""
    tune_demo_policy(ws)
    if seed is not None:
        set_demo_seed(ws, seed)
    config = ws.config()
    tasks = install_demo_suite(ws.tasks_dir)
    with ws.store() as store:
        service.register_tasks(store, tasks)
    if on_progress:
        on_progress("model", 0, 1)
    model_dir = ws.root / config.policy.model
    if not (model_dir / "config.json").is_file():
        build_tiny_model(
            model_dir,
            list(model_corpus(tasks, ws)),
            seed=config.rollout.seed,
            vocab_size=3000,
            attention_window=DEMO_ATTENTION_WINDOW,
        )
    if on_progress:
        on_progress("model", 1, 1)
    train = [t for t in tasks if t.split == "train"]
    summary = run_rollout_job(
        ws, train, rollouts_per_task or config.rollout.n, config.rollout.seed, on_progress
    )
    branched = BranchSummary(points=0, stored=0)
    if config.branch.on_demo and not summary.interrupted:
        if branch_points_per_task is not None:
            config.branch.per_task = branch_points_per_task
        with ws.store() as store:
            points = service.branch_points(store, config, tasks=[t.id for t in train])
        branched = run_branch_job(ws, points, branch_n, on_progress=on_progress)
    with ws.store() as store:
        mined = service.mine_proposals(store, config)
    return {
        "tasks": len(tasks),
        "rollouts": summary.stored,
        "branches": branched.stored,
        "proposals": mined.proposals,
        "interrupted": summary.interrupted or branched.interrupted,
    }
