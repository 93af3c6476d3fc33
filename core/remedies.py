"""What answers a flagged choice: the action a branch tries first at a flag's anchor, and the
only kind of chosen side a pair may teach the flag's lesson with.

A branch at a flagged step is a counterfactual, and the useful one is the fix of what was
flagged: run the tests where the rollout edited untested, read the file it was about to edit
unread, edit an allowed file instead of a test, finish where it would not stop. A sampled
alternative is mostly just another choice — at the demo's branch points, mostly another read —
and a pair of it teaches "not this" at best, and "read rather than edit" at worst: learnt at
every state, that is "never edit".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection

from core.actions import classify
from core.checks.common import escapes_repo, is_test_path
from core.checks.files import glob_pattern
from core.schema import ActionKind, Task, ToolCall

Remedy = Callable[[ToolCall], bool]

# Not a check: a failing rollout's state where the fix was due (the file read, the failure
# seen) and it did something else. Its answer is an edit of the code, so that branching there
# asks "and had it edited now?" — the counterpart of every "not yet" lesson (read first, run
# the tests first), without which the pairs only ever say "do not edit".
FIX_ATTEMPT = "outcome.fix_due"

# Lessons that say "not yet" to an edit: read the file first, run the tests first. The edit
# itself may be the right one a step later, and a pair that only ever says "not yet" teaches a
# small model "never" (README, "The demo's own result").
NOT_YET_LESSONS = frozenset({"edit.unread", "evidence.uncited", "tests.never_run"})

# Lessons whose remedy is an edit: a branch there makes the edit known to fix the task, where
# one is and it answers the lesson (`core.agent.branch.branch`).
EDIT_REMEDIES = frozenset(
    {FIX_ATTEMPT, "tests.ignored_failure", "files.outside_allowed", "tests.weakened", "diff.too_large"}
)


def remedy(
    check: str, rejected: ToolCall | None, task: Task | None, files: Collection[str] | None = None
) -> Remedy | None:
    """Whether an action answers `check` flagged on `rejected`; None where any other action does
    (a loop), or for a check this module does not know. `files` are the repository's files and
    `task` the workspace's task, where known (unknown: a read of any file, an edit of any file,
    answers the flags that need them)."""
    flagged = classify(rejected)
    flagged_paths = set(flagged.paths) if flagged is not None else set()

    def kind_is(*kinds: ActionKind) -> Remedy:
        return lambda call: (action := classify(call)) is not None and action.kind in kinds

    if check in ("tests.never_run", "tests.not_rerun"):
        return kind_is(ActionKind.TEST)
    if check == "stuck.no_stop":
        return kind_is(ActionKind.FINISH)
    if check == "tests.ignored_failure":
        return kind_is(ActionKind.EDIT)
    if check == "evidence.uncited":  # seeing the failure first: running the tests
        return kind_is(ActionKind.TEST)
    if check == "edit.unread":
        return lambda call: _reads(call, flagged_paths or None)
    if check == "path.hallucinated":
        known = set(files) if files is not None else None
        return lambda call: _reads(call, known)
    if check in ("files.outside_allowed", "tests.weakened", FIX_ATTEMPT):
        # An edit of allowed files; for a weakened test or a fix, of files that are not tests either.
        return edits_code(task, spares_tests=check != "files.outside_allowed")
    if check == "diff.too_large":
        size = edit_size(rejected)
        return lambda call: (
            (action := classify(call)) is not None
            and (action.kind is ActionKind.EDIT and edit_size(call) < size)
        )
    return None


def edits_code(task: Task | None, spares_tests: bool = True) -> Remedy:
    """Whether an action edits only the task's allowed files (any file, with no task or no
    globs), and, with `spares_tests`, no test: what a fix of the code may touch."""
    allowed = glob_pattern(tuple(task.allowed_globs if task and task.allowed_globs else ["**"]))
    return lambda call: (
        (action := classify(call)) is not None
        and (
            action.kind is ActionKind.EDIT
            and bool(action.paths)
            and all(
                not escapes_repo(p) and allowed.fullmatch(p) and not (spares_tests and is_test_path(p))
                for p in action.paths
            )
        )
    )


def deferrable(check: str, flagged: ToolCall | None, task: Task | None) -> bool:
    """Whether `flagged` was right in itself and only early: a "not yet" lesson on an edit of
    the code (allowed files, no tests), which a branch may take again after the remedy."""
    return check in NOT_YET_LESSONS and flagged is not None and edits_code(task)(flagged)


def answered(lesson: str, rejected: ToolCall | None, chosen: ToolCall | None, task: Task | None) -> bool:
    """Whether `chosen` may teach `lesson`, flagged on `rejected` at the same step: it took the
    lesson's remedy, or the lesson has none (any other action answers it)."""
    answer = remedy(lesson, rejected, task)
    return answer is None or (chosen is not None and answer(chosen))


def _reads(call: ToolCall, among: set[str] | None) -> bool:
    action = classify(call)
    if action is None or action.kind is not ActionKind.READ:
        return False
    return among is None or (bool(action.paths) and set(action.paths) <= among)


def edit_size(call: ToolCall | None) -> int:
    """How much an edit writes: its arguments' length (an edit's old and new text)."""
    return len(json.dumps(call.arguments, sort_keys=True)) if call is not None else 0
