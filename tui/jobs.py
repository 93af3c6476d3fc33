"""The long jobs, wired to the workspace: building the demo and running rollouts.

Core's jobs take callbacks; here they are connected to storage, once, for both the command
line and the app. Nothing here imports Textual; torch is imported only inside the jobs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core.agent.policy import build_policy
from core.agent.runner import jobs_for, run_rollouts
from core.agent.tools import TOOL_SCHEMAS
from core.config import PolicyConfig
from core.schema import Rollout, Task
from core.tasks import install_demo_suite
from core.tiny_model import build_tiny_model
from storage import service
from storage.ingest import RolloutSink
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
    if not task.repo_path:
        raise ValueError(
            f"task {task.id} has no repository (imported rollouts only): it cannot be rolled out"
        )
    path = Path(task.repo_path)
    return path if path.is_absolute() else ws.root / path


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
    policy = build_policy(policy_config or config.policy, ws.root, adapter)
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


def tune_demo_temperature(ws: Workspace) -> None:
    """Set the demo's temperatures, unless the user already changed the default."""
    text = ws.config_path.read_text(encoding="utf-8")
    default = re.compile(r"^temperature = 1\.0\b.*$", re.M)
    if default.search(text):
        tuned = f"temperature = {DEMO_TEMPERATURE}  # tuned to the demo's tiny model"
        ws.config_path.write_text(default.sub(tuned, text, count=1), encoding="utf-8")


def build_demo(
    ws: Workspace, on_progress: Progress | None = None, rollouts_per_task: int | None = None
) -> dict:
    """Tasks, the tiny model, scored rollouts on the train tasks, mined proposals."""
    tune_demo_temperature(ws)
    config = ws.config()
    tasks = install_demo_suite(ws.tasks_dir)
    with ws.store() as store:
        service.register_tasks(store, tasks)
    if on_progress:
        on_progress("model", 0, 1)
    model_dir = ws.root / config.policy.model
    if not (model_dir / "config.json").is_file():
        build_tiny_model(model_dir, list(model_corpus(tasks, ws)), seed=config.rollout.seed, vocab_size=3000)
    if on_progress:
        on_progress("model", 1, 1)
    train = [t for t in tasks if t.split == "train"]
    summary = run_rollout_job(
        ws, train, rollouts_per_task or config.rollout.n, config.rollout.seed, on_progress
    )
    with ws.store() as store:
        mined = service.mine_proposals(store, config)
    return {
        "tasks": len(tasks),
        "rollouts": summary.stored,
        "proposals": mined.proposals,
        "interrupted": summary.interrupted,
    }
