"""Branching rollouts: counterfactuals that share a rollout's exact prefix.

A flag is a fact about a whole rollout, but DPO learns from one choice in one state. A branch
replays a rollout's first K steps in a fresh worktree, checks that every replayed call sees
what the original saw (otherwise the state is not the same and the branch would teach
nothing), lets the policy take a *different* action at step K, and continues to the end. The
branch stores the parent's own prefix steps byte for byte, so a pair of the two has a prompt
both sides really share and differs in exactly one choice.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.actions import classify
from core.agent.env import TaskEnv
from core.agent.policies.base import Policy, Turn, call_key, rollout_seed
from core.agent.runner import finish_rollout
from core.checks.common import is_test_path
from core.checks.files import glob_pattern
from core.config import RolloutConfig
from core.diffs import changed_lines
from core.prefix import observation_key
from core.remedies import Remedy, deferrable, edit_size, edits_code, remedy
from core.schema import ActionKind, Rollout, Step, Task, ToolCall

ALTERNATIVE_TRIES = 4  # samples per wanted alternative before giving up on finding distinct ones


class NotBranchable(ValueError):
    """The rollout cannot be branched there (no runnable task, no such step, a finished prefix)."""


class ReplayMismatch(ValueError):
    """Replaying the prefix did not reproduce what the rollout saw: the state is not the same."""


def check_branch_point(parent: Rollout, step: int) -> None:
    if step < 0 or step >= len(parent.steps):
        raise NotBranchable(
            f"rollout {parent.id} has steps 1 to {len(parent.steps)}; step {step + 1} does not exist"
        )


def replay(env: TaskEnv, steps: list[Step]) -> None:
    """Re-run the prefix's calls in `env`; ReplayMismatch names the first step that differs."""
    for step in steps:
        if step.tool_call is None or step.malformed is not None:
            continue  # a turn the harness could not run changed nothing
        if env.finished:
            raise ReplayMismatch(f"step {step.index + 1} comes after the rollout finished")
        seen = Step(index=step.index, tool_call=step.tool_call, observation=env.call(step.tool_call))
        if observation_key(seen) != observation_key(step):
            expected = (step.observation.content if step.observation else "")[:200]
            got = (seen.observation.content if seen.observation else "")[:200]
            raise ReplayMismatch(
                f"replaying step {step.index + 1} ({step.tool_call.name}) saw different output than the "
                f"rollout did, so the state differs (the task's repository or tools changed?): "
                f"expected {expected!r}, got {got!r}"
            )


def alternatives(
    policy: Policy,
    env: TaskEnv,
    steps: list[Step],
    exclude: Step,
    n: int,
    rng: random.Random,
    temperature: float,
    remedy: Remedy | None = None,
) -> list[Turn]:
    """Up to `n` turns that differ from `exclude` and from each other, a `remedy` first where
    one is found (`core.remedies`).

    A policy that can list its options (`scored`) picks among them without replacement; any
    other samples repeatedly at `temperature` and keeps what is new.
    """
    excluded = {call_key(exclude.tool_call)}
    offer = getattr(policy, "alternatives", None)
    if offer is not None:
        turns: list[Turn] = offer(env, steps, rng, temperature, n, excluded, remedy)
        return turns
    found: list[Turn] = []
    for _ in range(ALTERNATIVE_TRIES * n):
        if len(found) >= n:
            break
        turn = policy.act(env, steps, rng, temperature)
        key = call_key(turn.tool_call)
        if key not in excluded:
            excluded.add(key)
            found.append(turn)
    if remedy is not None:  # sampled, not forced: a remedy drawn goes first
        found.sort(key=lambda t: t.tool_call is None or not remedy(t.tool_call))
    return found


def branch(
    parent: Rollout,
    task: Task | None,
    repo: Path | None,
    step: int,
    policy: Policy,
    cfg: RolloutConfig,
    n: int,
    temperature: float,
    stop: threading.Event | None = None,
    lesson: str = "",
    defer: bool = False,
    fix: ToolCall | None = None,
) -> list[Rollout]:
    """Up to `n` branches of `parent` at `step` (0-based), each continued to its end; the
    first answers `lesson` (a check flagged there) where an action does.

    With `defer`, where `lesson` says "not yet" to an edit of the code (`deferrable`), the two
    branches first do what the edit lacked (`prerequisites`: read the files it changes, run the
    tests); then the first goes its own way and the second makes the parent's edit. Against the
    parent both say "not yet"; against each other, where the edit passes and the other does
    not, "now" (mining lets the outcome decide). Without the counterpart the demo's pairs said
    "not yet" to an edit about forty times for each "now", and a deferred edit that lacked a
    second prerequisite was only another "not yet". `fix`: the edit to make instead of the
    parent's (`known_fix`: a small edit from a passing rollout, run alone and seen to pass), so
    that "now" is taught with a patch that works; the parent's edit was often the wrong one.

    `task` and `repo` are the workspace's own runnable task (never one embedded in imported
    data). Raises NotBranchable or ReplayMismatch before anything is rolled out.
    """
    if task is None or repo is None:
        raise NotBranchable(
            f"rollout {parent.id} is of task {parent.task_id!r}, which has no repository in this workspace "
            "(imported rollouts cannot be replayed): only tasks added with `tasks add`, "
            "`tasks import-quixbugs` or the demo can be branched"
        )
    check_branch_point(parent, step)
    prefix = parent.steps[:step]
    base_seed = parent.seed if parent.seed is not None else 0
    rng = random.Random(rollout_seed(base_seed, f"{parent.id}:branch", step))
    branches: list[Rollout] = []
    with TaskEnv(task, repo) as env:
        replay(env, prefix)
        flagged = parent.steps[step]
        made = fix if fix is not None else flagged.tool_call
        needed = prerequisites(prefix, made) if made is not None else []
        plans: list[list[Turn]] = []
        answer = remedy(lesson, flagged.tool_call, task, env.files()) if lesson else None
        first = [Turn(thought="", tool_call=call) for call in needed]
        if defer and n >= 2 and needed and made is not None and deferrable(lesson, flagged.tool_call, task):
            edit = Turn(thought=flagged.thought if fix is None else "", tool_call=made)
            plans = [first, [*first, edit]]
        elif (
            fix is not None
            and answer is not None
            and answer(fix)
            and call_key(fix) != call_key(flagged.tool_call)
        ):
            # The remedy is an edit (the fix that was due, a smaller patch, an allowed file): the
            # one known to work, its files read first. The policy's own first edit is mostly the
            # wrong patch, and a pair of a failing "remedy" teaches against the lesson. Where the
            # fix needs a read first, a second branch does that read and goes its own way: the
            # two part at the fix itself, which is where "edit now" lives.
            plans = [[*first, Turn(thought="", tool_call=fix)]] + ([first] if first and n >= 2 else [])
        if len(plans) < n:  # the policy's own alternatives for the rest (drawn only if wanted)
            turns = alternatives(policy, env, prefix, flagged, n - len(plans), rng, temperature, answer)
            plans += [[turn] for turn in turns]
        for number, plan in enumerate(plans):
            if stop is not None and stop.is_set():
                break
            seed = rollout_seed(base_seed, f"{parent.id}:branch{step}", number)
            if number == 0:
                rollout = _continue(env, prefix, plan, policy, cfg, seed, stop)
            else:
                with TaskEnv(task, repo) as fresh:
                    replay(fresh, prefix)
                    rollout = _continue(fresh, prefix, plan, policy, cfg, seed, stop)
            if rollout is None:
                break
            rollout.parent_id = parent.id
            rollout.branch_step = step
            rollout.source.format = "agentpref-branch"
            branches.append(rollout)
    return branches


def _continue(
    env: TaskEnv,
    prefix: list[Step],
    turns: list[Turn],
    policy: Policy,
    cfg: RolloutConfig,
    seed: int,
    stop: threading.Event | None,
) -> Rollout | None:
    # The parent's steps, not the replayed ones: the prompt both sides see is the same bytes.
    steps = [s.model_copy(deep=True) for s in prefix]
    return finish_rollout(
        env, steps, policy, cfg, seed, time.perf_counter(), datetime.now(UTC), stop, forced=turns
    )


def prerequisites(prefix: list[Step], edit: ToolCall) -> list[ToolCall]:
    """What a careful agent does before `edit` and `prefix` did not: read each file the edit
    changes, then run the tests (see the failure)."""
    read: set[str] = set()
    tested = False
    for step in prefix:
        action = classify(step.tool_call)
        if action is not None and action.kind is ActionKind.READ:
            read.update(action.paths)
        tested = tested or (action is not None and action.kind is ActionKind.TEST)
    changed = classify(edit)
    paths = changed.paths if changed is not None else ()
    calls = [ToolCall(name="read_file", arguments={"path": path}) for path in paths if path not in read]
    return calls + ([] if tested else [ToolCall(name="run_tests", arguments={})])


def known_fix(passing: list[Rollout], task: Task, repo: Path, budget: int) -> ToolCall | None:
    """The smallest edit of the code (allowed files, no test) that one of the task's passing
    rollouts made and that, made alone on a fresh checkout, changes at most `budget` lines and
    passes the task's own tests: a fix known to work, which a deferred branch makes once the
    prerequisites are done.

    Each candidate is run, not guessed: a passing rollout's last edit is often not its fix (a
    test loosened after the fix, an unrelated change, a wrong patch beside the right one) — on
    the demo's first build 6 of 16 tasks got such a "fix" — and a sprawling rewrite that passes
    would teach sprawl as "now"."""
    is_code_edit = edits_code(task)
    calls: dict[str, ToolCall] = {}
    for rollout in passing:
        if rollout.tests_passed:
            for step in rollout.steps:
                if step.tool_call is not None and is_code_edit(step.tool_call):
                    calls.setdefault(call_key(step.tool_call), step.tool_call)
    for call in sorted(calls.values(), key=lambda c: (edit_size(c), call_key(c))):
        with TaskEnv(task, repo) as env:
            if env.call(call).error or changed_lines(env.diff()) > budget:
                continue
            if env.final_outcomes()[0]:
                return call
    return None


def fixing_edit(rollout: Rollout | None, task: Task | None = None) -> int | None:
    """The step (0-based) of a passing rollout's last edit of the code (allowed files, no test;
    with no task, any edit): branching there asks what else the policy would have done instead
    of the fix, and mining pairs the fix with it (`core.pairs.FIXED`). An edit of a test made
    after the fix is not it: a branch there passes either way and teaches nothing."""
    if rollout is None:
        return None
    counts = edits_code(task) if task is not None else (lambda call: True)
    edits = [
        i
        for i, step in enumerate(rollout.steps)
        if _kind(step) is ActionKind.EDIT and step.tool_call is not None and counts(step.tool_call)
    ]
    return edits[-1] if edits else None


def _kind(step: Step) -> ActionKind | None:
    """The step's kind of action, also for a rollout not stored yet (`step.action` unset)."""
    action = step.action if step.action is not None else classify(step.tool_call)
    return action.kind if action is not None else None


def fix_due(rollout: Rollout | None, task: Task | None) -> int | None:
    """The first step (0-based) of a failing rollout where it had read a file it may fix and
    seen the tests fail, had not edited yet, and did something other than edit: where branching
    with an edit (`core.remedies.FIX_ATTEMPT`) asks whether the fix was one action away."""
    if rollout is None or task is None or rollout.tests_passed is not False:
        return None
    allowed = glob_pattern(tuple(task.allowed_globs or ["**"]))
    read = failed = False
    for i, step in enumerate(rollout.steps):
        action = classify(step.tool_call)
        kind = action.kind if action is not None else None
        if kind is ActionKind.EDIT:
            return None
        if read and failed:
            return i
        paths = action.paths if action is not None else ()
        if kind is ActionKind.READ and any(allowed.fullmatch(p) and not is_test_path(p) for p in paths):
            read = True
        if (
            kind is ActionKind.TEST
            and step.observation is not None
            and step.observation.exit_code not in (0, None)
        ):
            failed = True
    return None


@dataclass(frozen=True)
class BranchPoint:
    """Where to branch: a rollout, a 0-based step, and the lesson that lives there."""

    rollout_id: str
    task_id: str
    step: int
    check: str  # the flag anchored there; "" when a person picked the step
    state: str  # the prefix's step fingerprints: two points in one state are one point


def plan(points: list[BranchPoint], per_task: int) -> list[BranchPoint]:
    """At most `per_task` points a task, one per state, lessons taken in turn (rarest first).

    Taking each check in turn spreads the branches over every lesson a task has, rather than
    spending them all on its most common flag.
    """
    by_task: dict[str, dict[str, list[BranchPoint]]] = defaultdict(lambda: defaultdict(list))
    seen: set[tuple[str, str]] = set()
    for point in sorted(points, key=lambda p: (p.task_id, p.step, p.rollout_id, p.check)):
        if (point.task_id, point.state) in seen:
            continue
        seen.add((point.task_id, point.state))
        by_task[point.task_id][point.check].append(point)
    chosen: list[BranchPoint] = []
    for task_id in sorted(by_task):
        queues = sorted(by_task[task_id].values(), key=lambda q: (len(q), q[0].check))
        taken = 0
        while taken < per_task and any(queues):
            for queue in queues:
                if queue and taken < per_task:
                    chosen.append(queue.pop(0))
                    taken += 1
    return chosen
