"""Whether the agent ran the tests, ran them again after changing code, and believed them."""

from __future__ import annotations

from core.checks.common import EditEvent, K, analysis, has_kind, is_scratch
from core.checks.registry import Finding, check
from core.config import ChecksConfig
from core.schema import Rollout, Task


@check("tests.never_run", "the rollout never ran the tests")
def never_run(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
    """No step ran a test command (pytest, `python -m pytest`, `make test`, a run_tests tool...)."""
    a = analysis(rollout)
    if a.test_positions or not a.steps:
        return None
    # The tests belonged before the first change to code (to see the failure), or, with no
    # change, before the agent stopped: at its finish, or its last step.
    edit = next((p for p, act in enumerate(a.actions) if has_kind(act, K.EDIT)), None)
    finish = next((p for p in range(len(a.steps) - 1, -1, -1) if has_kind(a.actions[p], K.FINISH)), None)
    where = edit if edit is not None else (len(a.steps) - 1 if finish is None else finish)
    return Finding("ran no tests", [a.steps[where].index])


@check("tests.not_rerun", "an edit after the last test run")
def not_rerun(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
    """Code changed after the last test run was never tested.

    Writes to scratch space and removing files the agent itself created (a reproduce script)
    change nothing that ships, so they do not count.
    """
    a = analysis(rollout)
    if not a.test_positions:
        return None
    events: dict[int, list[EditEvent]] = {}
    for event in a.edit_events:
        events.setdefault(event.position, []).append(event)
    steps = []
    for pos in range(a.test_positions[-1] + 1, len(a.steps)):
        if not has_kind(a.actions[pos], K.EDIT):
            continue
        changed = events.get(pos)
        if changed and all(_harmless(e) for e in changed):
            continue
        steps.append(a.steps[pos].index)  # an edit with no known path (`git apply fix.diff`) counts
    if not steps:
        return None
    # The test run belonged right after the last untested edit.
    after = next((s.index for s in rollout.steps if s.index > steps[-1]), None)
    return Finding(
        f"edited code after the last test run ({len(steps)} edit step{'s' * (len(steps) > 1)})",
        steps,
        anchor=after if after is not None else steps[-1],
    )


def _harmless(event: EditEvent) -> bool:
    return is_scratch(event.path) or (event.deletion and event.origin == "agent")


@check("tests.ignored_failure", "finished while the last test run failed (claimed success)")
def ignored_failure(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
    """Stopping with the last test run red is claiming success the agent has seen refuted."""
    a = analysis(rollout)
    if not a.test_positions or not a.finished:
        return None
    last_test = a.test_positions[-1]
    if a.outcome(last_test) is not False:
        return None
    steps = [a.steps[last_test].index]
    finish = next(
        (p for p in range(len(a.steps) - 1, last_test, -1) if has_kind(a.actions[p], K.FINISH)), None
    )
    if finish is not None:
        steps.append(a.steps[finish].index)
    return Finding("finished while the last test run failed", steps, anchor=steps[-1])
