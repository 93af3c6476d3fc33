"""Rolling a policy out on tasks: one rollout per (task, seed), several in flight at once.

Each finished rollout goes to the `on_rollout` callback at once (the CLI stores it), so an
interrupted run keeps everything that finished. A policy that fails mid-rollout does not
lose the rollout either: it is recorded with `exit_status = "policy_error"` and the reason.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.agent.env import TaskEnv
from core.agent.policies.base import Policy, PolicyError, Turn, rollout_seed
from core.config import RolloutConfig
from core.schema import Observation, Rollout, Source, Step, Task


@dataclass(frozen=True)
class Job:
    task: Task
    repo: Path
    seed: int


def jobs_for(tasks: Iterable[tuple[Task, Path]], n: int, base_seed: int) -> list[Job]:
    return [Job(task, repo, rollout_seed(base_seed, task.id, k)) for task, repo in tasks for k in range(n)]


def run_rollout(
    job: Job, policy: Policy, cfg: RolloutConfig, stop: threading.Event | None = None
) -> Rollout | None:
    """One rollout; None when `stop` was set before it finished (nothing half-done is kept)."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    with TaskEnv(job.task, job.repo) as env:
        return finish_rollout(env, [], policy, cfg, job.seed, started, started_at, stop)


def finish_rollout(
    env: TaskEnv,
    steps: list[Step],
    policy: Policy,
    cfg: RolloutConfig,
    seed: int,
    started: float,
    started_at: datetime,
    stop: threading.Event | None = None,
    forced: Sequence[Turn] = (),
) -> Rollout | None:
    """Drive the policy from `steps` (already taken in `env`) to the end and judge the result.

    `forced` are the next turns, taken instead of asking the policy (a branch's alternative,
    and what follows it). The rollout's randomness comes from `seed` alone, so a rerun
    reproduces it.
    """
    task = env.task
    rng = random.Random(seed)
    temperature = policy.cfg.temperature_for(seed)
    limit = task.step_limit or cfg.step_limit
    steps = list(steps)
    malformed_run = 0
    exit_status = "step_limit"
    pending = list(forced)
    for index in range(len(steps), limit):
        if stop is not None and stop.is_set():
            return None
        t0 = time.perf_counter()
        try:
            turn = pending.pop(0) if pending else policy.act(env, steps, rng, temperature)
        except PolicyError as exc:
            steps.append(
                Step(index=index, malformed=f"policy error: {exc}", started_at=round(t0 - started, 4))
            )
            exit_status = "policy_error"
            break
        step = Step(
            index=index,
            thought=turn.thought,
            tool_call=turn.tool_call,
            malformed=turn.malformed,
            started_at=round(t0 - started, 4),
            tokens_in=turn.tokens_in,
            tokens_out=turn.tokens_out,
        )
        if turn.malformed or turn.tool_call is None:
            malformed_run += 1
            step.observation = Observation(
                content=f"Your reply was not one valid tool call ({turn.malformed}). Call one tool.",
                error=True,
            )
        else:
            malformed_run = 0
            step.observation = env.call(turn.tool_call)
        step.duration_s = round(time.perf_counter() - t0, 4)
        steps.append(step)
        if env.finished:
            exit_status = "submitted"
            break
        if malformed_run >= cfg.malformed_in_a_row:
            exit_status = "format_errors"
            break
    final_diff = env.diff()
    passed, passed_own = env.final_outcomes()
    return Rollout(
        task_id=task.id,
        policy=policy.label,
        seed=seed,
        source=Source(format="agentpref-harness"),
        started_at=started_at,
        duration_s=round(time.perf_counter() - started, 3),
        tokens_in=sum(s.tokens_in or 0 for s in steps),
        tokens_out=sum(s.tokens_out or 0 for s in steps),
        steps=steps,
        final_diff=final_diff,
        tests_passed=passed,
        tests_passed_own=passed_own,
        exit_status=exit_status,
        task=task,
    )


def run_rollouts(
    jobs: list[Job],
    policy: Policy,
    cfg: RolloutConfig,
    concurrency: int,
    on_rollout: Callable[[Rollout], None],
    stop: threading.Event | None = None,
) -> int:
    """Run every job, `concurrency` at a time; returns how many finished.

    `on_rollout` runs in the calling thread, so it may write to a database opened there.
    Setting `stop` (the CLI does on Ctrl-C) lets running rollouts end at their next step,
    starts no more, and returns.
    """
    stop = stop or threading.Event()
    done = 0
    queue = list(reversed(jobs))
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rollout") as pool:
        running: set[Future[Rollout | None]] = set()
        try:
            while queue or running:
                while queue and len(running) < concurrency and not stop.is_set():
                    running.add(pool.submit(run_rollout, queue.pop(), policy, cfg, stop))
                if not running:
                    break
                finished, running = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    rollout = future.result()
                    if rollout is not None:
                        on_rollout(rollout)
                        done += 1
        except BaseException:
            stop.set()
            raise
    return done
