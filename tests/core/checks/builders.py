"""Builders for small rollouts, so each check test reads as the story it checks."""

from __future__ import annotations

from typing import Any

from core.checks import run_checks
from core.config import ChecksConfig
from core.schema import Flag, Observation, Rollout, Step, Task, ToolCall

# ("bash", "cat a.py", "output", 0[, "thought"]) or (tool name, {arguments}, output, exit code
# [, thought]); a ready-made Step is taken as it is (re-indexed).
StepSpec = tuple[Any, ...] | Step


def make_step(index: int, spec: StepSpec) -> Step:
    if isinstance(spec, Step):
        return spec.model_copy(update={"index": index})
    tool, args, output, exit_code, *rest = spec
    arguments = {"command": args} if isinstance(args, str) else dict(args)
    return Step(
        index=index,
        thought=rest[0] if rest else "",
        tool_call=ToolCall(name=tool, arguments=arguments, id=f"call_{index}"),
        observation=Observation(content=output, exit_code=exit_code),
    )


def make_rollout(specs: list[StepSpec], **fields: Any) -> Rollout:
    """make_rollout([("bash", "cat a.py", "contents", 0), ...], exit_status="submitted")."""
    fields.setdefault("task_id", "t1")
    return Rollout(steps=[make_step(i, s) for i, s in enumerate(specs)], **fields)


def flags_for(rollout: Rollout, task: Task | None = None, cfg: ChecksConfig | None = None) -> dict[str, Flag]:
    """{check id: Flag} from run_checks, the way the product runs them."""
    return {f.check: f for f in run_checks(rollout, task, cfg or ChecksConfig())}


# Test outputs as the runners print them.
PYTEST_FAIL = """\
============================= test session starts ==============================
collected 2 items

tests/test_calc.py .F                                                    [100%]

=================================== FAILURES ===================================
________________________________ test_add_big _________________________________

    def test_add_big():
>       assert add(2, 40) == 42
E       AssertionError: add returned 41 instead of 42

tests/test_calc.py:9: AssertionError
=========================== short test summary info ============================
FAILED tests/test_calc.py::test_add_big - AssertionError: add returned 41 instead of 42
========================= 1 failed, 1 passed in 0.05s ==========================
"""
PYTEST_PASS = "============================== 2 passed in 0.03s ===============================\n"
