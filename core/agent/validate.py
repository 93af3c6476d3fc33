"""`tasks check`: a task is usable when its tests fail (or time out) on the untouched
repository and pass with the reference fix (the `reference/` files, else the `right` candidate).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.agent.env import TaskEnv
from core.agent.sandbox import CommandResult
from core.schema import CandidateKind, Task

# pytest's own exit codes for a command that ran but tested nothing useful
PYTEST_USAGE_ERROR, PYTEST_NO_TESTS = 4, 5


@dataclass
class TaskCheck:
    task_id: str
    untouched: str  # fails | times out | passes | broken
    reference: str  # passes | fails | times out | broken | none
    ok: bool
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _outcome(result: CommandResult) -> str:
    if result.timed_out:
        return "times out"
    if result.exit_code == 0:
        return "passes"
    if result.exit_code in (126, 127, PYTEST_USAGE_ERROR, PYTEST_NO_TESTS):
        return "broken"
    return "fails"


def check_task(task: Task, repo: Path, reference_dir: Path | None) -> TaskCheck:
    with TaskEnv(task, repo) as env:
        before = env.run_test_command()
    untouched = _outcome(before)
    reference, detail = "none", ""
    with TaskEnv(task, repo) as env:
        applied = _apply_reference(task, env, reference_dir)
        if applied:
            after = env.run_test_command()
            reference = _outcome(after)
            if reference != "passes":
                detail = _last_lines(after.output)
    if untouched == "passes":
        detail = "the tests already pass on the untouched repository: there is no bug to fix"
    elif untouched == "broken":
        detail = f"the test command did not run tests (exit {before.exit_code}): {_last_lines(before.output)}"
    ok = untouched in ("fails", "times out") and reference in ("passes", "none")
    return TaskCheck(task.id, untouched, reference, ok, detail)


def _apply_reference(task: Task, env: TaskEnv, reference_dir: Path | None) -> bool:
    if reference_dir is not None and reference_dir.is_dir():
        for source in reference_dir.rglob("*"):
            if source.is_file():
                target = env.worktree / source.relative_to(reference_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        return True
    right = next((c for c in task.candidates if c.kind is CandidateKind.RIGHT), None)
    if right is None:
        return False
    return not env.tool_edit(right.path, right.old, right.new).error


def _last_lines(output: str, count: int = 3) -> str:
    return " | ".join(line.strip() for line in output.strip().splitlines()[-count:])
