"""bench/tui.py's trajectories: the same synthetic rollouts, each exactly 40 steps, importable."""

import json

from bench.tui import STEPS, build_workspace, write_trajectories
from storage.workspace import Workspace


def test_the_bench_trajectories_have_forty_steps_and_import_as_mini_swe_agent(tmp_path):
    paths = write_trajectories(tmp_path / "trajs", 10, seed=1, observation_bytes=2_000)
    assert len(paths) == 10 and all(p.name.endswith(".traj.json") for p in paths)
    record = json.loads(paths[0].read_text())
    assert record["trajectory_format"] == "mini-swe-agent-1.1"
    assert sum(m["role"] == "assistant" for m in record["messages"]) <= STEPS
    rollouts, _pairs = build_workspace(tmp_path / "ws", paths)
    assert rollouts == 10
    with Workspace.open(tmp_path / "ws").store() as store:
        for (rollout_id,) in store.db.execute("SELECT id FROM rollouts").fetchall():
            rollout = store.rollout(rollout_id)
            assert rollout is not None and len(rollout.steps) == STEPS
            assert [s.index for s in rollout.steps] == list(range(STEPS))
