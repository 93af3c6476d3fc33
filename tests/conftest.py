"""Shared fixtures: a temporary workspace and rollouts built in code."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.schema import Flag, Observation, Rollout, Step, ToolCall
from storage.store import Store
from storage.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "ws")


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "test.db") as s:
        yield s


def make_rollout(
    rollout_id: str,
    task_id: str = "t1",
    calls: list[tuple[str, str]] | None = None,
    flags: list[str] | None = None,
    score: float | None = None,
) -> Rollout:
    """A rollout of bash steps; `flags` are check ids with weight 1."""
    calls = calls or [("cat a.py", "x = 1"), ("pytest", "1 passed")]
    steps = [
        Step(
            index=i,
            thought=f"step {i}",
            tool_call=ToolCall(name="bash", arguments={"command": cmd}),
            observation=Observation(content=obs, exit_code=0),
        )
        for i, (cmd, obs) in enumerate(calls)
    ]
    flag_models = [Flag(check=f, weight=1.0, message=f"did {f}", steps=[0]) for f in flags or []]
    return Rollout(
        id=rollout_id,
        task_id=task_id,
        steps=steps,
        flags=flag_models,
        score=float(len(flag_models)) if score is None else score,
    )


@pytest.fixture
def force_isolation(monkeypatch: pytest.MonkeyPatch):
    """`force(mode)`: the probes say only `mode` (and rlimits) works here, until the test ends.

    This is config logic under test, not the sandbox: nothing is run in the forced mode.
    """
    from core.agent import confinement

    probes = (confinement.isolation, confinement.works)

    def force(mode: str) -> None:
        for probe in probes:
            probe.cache_clear()
        monkeypatch.setattr(confinement, "works", lambda m: m in (mode, confinement.RLIMITS))

    yield force
    for probe in probes:
        probe.cache_clear()


def wait_for(condition, what: str, timeout_s: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    """Poll `condition` until it holds; a generous bound for a loaded machine, never a timing."""
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)
