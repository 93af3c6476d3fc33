"""Loop detection, as OpenHands' stuck detector does it, over canonical actions.

Three rules, each over a window anywhere in the rollout: the same action with the same result
`loop_repeats` times in a row; the same action failing `loop_error_repeats` times in a row; and
two actions alternating (A, B, A, B, ...) with matching results for `loop_alternation` steps.
Actions compare on `Action.command`, never on thoughts, ids or timestamps, so a reworded thought
does not hide a repeated command; results compare on output and exit code, so an agent polling a
long job whose output changes is not stuck.
"""

from __future__ import annotations

from core.checks.common import K, analysis, has_kind, short
from core.checks.registry import Finding, check
from core.config import ChecksConfig
from core.schema import Action, Rollout, Step, Task

Key = tuple[str, str, int | None, bool] | None  # (command, output, exit code, error); None breaks a run


def _key(step: Step, action: Action | None) -> Key:
    if action is None:
        return None
    obs = step.observation
    if obs is None:
        return (action.command, "", None, False)
    return (action.command, obs.content, obs.exit_code, obs.error)


def _failed(step: Step, action: Action | None) -> bool:
    """An error result; a nonzero exit counts too, except for test runs (failing tests are not errors)."""
    obs = step.observation
    if obs is None:
        return False
    return obs.error or (obs.exit_code not in (None, 0) and not has_kind(action, K.TEST))


def _runs(flags: list[bool], length: int) -> list[tuple[int, int]]:
    """(start, end) of every run of True at least `length` long."""
    out: list[tuple[int, int]] = []
    start = None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start >= length:
                out.append((start, i))
            start = None
    return out


@check("loop.repeat", "the same action (and same observation) repeated past a threshold")
def repeat(rollout: Rollout, task: Task | None, cfg: ChecksConfig) -> Finding | None:
    a = analysis(rollout)
    keys = [_key(s, act) for s, act in zip(a.steps, a.actions, strict=True)]
    commands = [act.command if act is not None else None for act in a.actions]
    n = len(keys)
    found: set[int] = set()
    crossings: list[int] = []  # where each run first reached its threshold
    messages: list[str] = []

    # Rule 1: position i continues a run when it equals i-1 (runs of equal neighbours).
    same = [i > 0 and keys[i] is not None and keys[i] == keys[i - 1] for i in range(n)]
    for start, end in _runs(same, max(cfg.loop_repeats - 1, 1)):
        found.update(range(start - 1, end))
        crossings.append(start + max(cfg.loop_repeats - 1, 1) - 1)
        messages.append(
            f"repeated `{short(commands[start] or '', 50)}` {end - start + 1} times with the same result"
        )

    # Rule 2: the same command failing again and again, whatever the error text says.
    failing = [
        i > 0
        and commands[i] is not None
        and commands[i] == commands[i - 1]
        and _failed(a.steps[i], a.actions[i])
        and _failed(a.steps[i - 1], a.actions[i - 1])
        for i in range(n)
    ]
    for start, end in _runs(failing, max(cfg.loop_error_repeats - 1, 1)):
        found.update(range(start - 1, end))
        crossings.append(start + max(cfg.loop_error_repeats - 1, 1) - 1)
        messages.append(
            f"repeated `{short(commands[start] or '', 50)}` {end - start + 1} times, failing each time"
        )

    # Rule 3: A, B, A, B...: each step equals the one two back and differs from the one before.
    alternating = [
        i > 1 and keys[i] is not None and keys[i] == keys[i - 2] and keys[i] != keys[i - 1] for i in range(n)
    ]
    for start, end in _runs(alternating, max(cfg.loop_alternation - 2, 1)):
        found.update(range(start - 2, end))
        crossings.append(start + max(cfg.loop_alternation - 2, 1) - 1)
        first, second = short(commands[start - 2] or "", 30), short(commands[start - 1] or "", 30)
        messages.append(f"alternated between `{first}` and `{second}` for {end - start + 2} steps")

    if not found:
        return None
    # The lesson is at the first step that made it a loop: a repeat once past the threshold.
    return Finding(
        "; ".join(messages), [a.steps[i].index for i in sorted(found)], anchor=a.steps[min(crossings)].index
    )
