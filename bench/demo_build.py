"""Build the offline demo workspace and time it: `init --demo` wall time (branching at flagged
steps included), rollouts/s, test runs/s, the median step latency of the scored policy and of
`run_tests`, and what the mined pairs teach.

Floor on the 2-core reference machine: the whole demo build under 3 minutes.
Run: `.venv/bin/python bench/demo_build.py [--seed S]`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.agent import env as env_module
from core.agent.policies.scored import ScoredPolicy
from storage import service
from storage.store import Store
from storage.workspace import Workspace
from tui.rollout_jobs import build_demo


def main() -> None:
    act_times: list[float] = []
    test_times: list[float] = []
    original_act, original_tests = ScoredPolicy.act, env_module.TaskEnv.tool_run_tests

    def timed_act(self, *args):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return original_act(self, *args)
        finally:
            act_times.append(time.perf_counter() - start)

    def timed_tests(self):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return original_tests(self)
        finally:
            test_times.append(time.perf_counter() - start)

    ScoredPolicy.act = timed_act  # type: ignore[method-assign]
    env_module.TaskEnv.tool_run_tests = timed_tests  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "demo")
        start = time.perf_counter()
        seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else None
        result = build_demo(ws, seed=seed)
        wall = time.perf_counter() - start
        with ws.store() as store:
            rates = service.status(store)["flag_rates"]
            kinds = dict(store.db.execute("SELECT kind, count(*) FROM pairs GROUP BY kind").fetchall())
            lessons = taught(store)
    rollouts = result["rollouts"] + result["branches"]
    print(f"demo build:        {wall:.1f} s  (floor 180 s: {'ok' if wall < 180 else 'OVER'})")
    print(f"tasks / rollouts:  {result['tasks']} / {rollouts}  ({rollouts / wall:.2f} rollouts/s overall)")
    print(f"branches:          {result['branches']} (of the {rollouts} rollouts)")
    by_kind = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    print(f"proposals:         {result['proposals']} ({by_kind})")
    print("lessons taught:    " + ", ".join(f"{k} {v}" for k, v in lessons.most_common()))
    print(f"policy steps:      {len(act_times)}, median latency {statistics.median(act_times) * 1000:.0f} ms")
    print(
        f"run_tests calls:   {len(test_times)} by the agent, median latency "
        f"{statistics.median(test_times) * 1000:.0f} ms ({len(test_times) / wall:.2f} test runs/s)"
    )
    print("(each rollout also runs the tests once more after it stops, to record the final outcome)")
    print(
        "flag rates:        "
        + ", ".join(f"{k} {v:.0%}" for k, v in sorted(rates.items(), key=lambda kv: -kv[1]))
    )


def taught(store: Store) -> Counter[str]:
    """The flags each pair teaches: anchored at its step on the rejected side, not the chosen."""
    anchors: dict[str, dict[str, int]] = {}
    for rollout_id, details in store.flag_details().items():
        anchors[rollout_id] = {check: d[2] for check, d in details.items() if d[2] is not None}
    counts: Counter[str] = Counter()
    for pair in store.pairs():
        if pair.step is None:
            continue
        at = {c for c, s in anchors.get(pair.rejected_id, {}).items() if s == pair.step}
        at -= {c for c, s in anchors.get(pair.chosen_id, {}).items() if s == pair.step}
        counts.update(at)
    return counts


if __name__ == "__main__":
    main()
