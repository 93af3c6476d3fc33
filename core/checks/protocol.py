"""How the agent used the protocol: well-formed tool calls, and stopping on its own."""

from __future__ import annotations

import re

from core.checks.common import analysis, resolve_task, short
from core.checks.registry import Finding, check
from core.config import ChecksConfig
from core.schema import Rollout, Task

# Harness exit statuses that mean "stopped by a limit", across SWE-agent (exit_cost,
# exit_context, "submitted (exit_cost)"), mini-swe-agent (LimitsExceeded), OpenHands and ours.
LIMIT_STATUS_RE = re.compile(
    r"step_?limit|max_?(?:steps|iterations|turns)|exit_(?:cost|context|step)|limits?_?exceeded"
    r"|cost_?limit|context_?(?:window|length|limit)|turn_?limit|iteration_?limit|too_many_steps",
    re.I,
)


@check("protocol.malformed", "an assistant turn with no parseable, valid tool call")
def malformed(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
    """Turns the harness could not execute. A last turn that is a plain message is how chat agents stop."""
    steps = rollout.steps
    bad = [
        s
        for pos, s in enumerate(steps)
        if s.malformed is not None or (s.tool_call is None and not (pos == len(steps) - 1 and pos > 0))
    ]
    if not bad:
        return None
    count = f"{len(bad)} malformed tool call{'s' if len(bad) > 1 else ''}"
    reason = next((s.malformed for s in bad if s.malformed), None)
    return Finding(f"made {count}" + (f" ({short(reason)})" if reason else ""), [s.index for s in bad])


@check("stuck.no_stop", "hit the step limit instead of stopping")
def no_stop(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
    """An agent that cannot make progress should stop (or submit) rather than run out its budget."""
    last = [rollout.steps[-1].index] if rollout.steps else []
    status = rollout.exit_status.strip()
    if LIMIT_STATUS_RE.search(status):
        return Finding(
            f"hit a limit instead of stopping (exit status {short(status, 40)})", last, anchor=last[-1]
        )
    task = resolve_task(rollout, task)
    limit = task.step_limit if task is not None and task.step_limit is not None else cfg.step_limit
    if len(rollout.steps) >= limit and not analysis(rollout).finished:
        return Finding(f"ran {len(rollout.steps)} steps without finishing (limit {limit})", last)
    return None
