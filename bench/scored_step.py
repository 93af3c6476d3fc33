"""CPU time of one scored-policy step (render the context and the actions, score them).

Records the states of a few real demo rollouts, then replays every step through the current
`ScoredPolicy` and, with `--baseline FILE` (an older copy of core/agent/policies/scored.py), through that
one too, side by side in the same process and in rollout order (a fresh policy per repetition,
so the caches start empty as in a real run). Time is this process's CPU time
(`time.process_time`), with one torch thread as `share_cpu` sets for 2 rollouts in flight on 2
cores, so other load on the machine does not count. The scores of both must agree.

Run: `.venv/bin/python bench/scored_step.py --model WS/models/tiny [--baseline OLD_SCORED.py]`
(a demo workspace's model: `init --demo -w WS` builds one; for the old file, e.g.
`git show REV:core/agent/policies/scored.py > /tmp/old_scored.py`).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.agent.model import load_model  # noqa: E402
from core.agent.policies.scored import ScoredPolicy, admissible_actions  # noqa: E402
from core.agent.runner import Job, run_rollout  # noqa: E402
from core.config import PolicyConfig, RolloutConfig  # noqa: E402
from core.tasks import install_demo_suite  # noqa: E402


class Recording(ScoredPolicy):
    """The policy, noting each state it acts in."""

    states: ClassVar[list[tuple]] = []

    def act(self, env, steps, rng, temperature):  # type: ignore[no-untyped-def]
        self.states.append((env.task.instruction, list(steps), admissible_actions(env)))
        return super().act(env, steps, rng, temperature)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a model folder, e.g. WS/models/tiny")
    parser.add_argument(
        "--baseline", type=Path, help="an older core/agent/policies/scored.py to compare with"
    )
    parser.add_argument("--rollouts", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    loaded = load_model(args.model, None, "cpu")
    cfg = PolicyConfig(temperature=[0.01, 0.03])
    with tempfile.TemporaryDirectory() as folder:
        tasks = install_demo_suite(Path(folder))
        recorder = Recording(loaded, cfg)
        for k, task in enumerate(tasks[: args.rollouts]):
            run_rollout(Job(task, Path(folder) / task.id / "repo", k), recorder, RolloutConfig())
    states = Recording.states
    print(f"{len(states)} steps from {args.rollouts} rollouts")

    policies = {"new": ScoredPolicy}
    if args.baseline:
        spec = importlib.util.spec_from_file_location("baseline_scored", args.baseline)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        policies = {"old": module.ScoredPolicy, "new": ScoredPolicy}
    times: dict[str, list[float]] = {name: [] for name in policies}
    worst = 0.0
    for _ in range(args.repeats):
        fresh = {name: make(loaded, cfg) for name, make in policies.items()}
        for state in states:
            scores = {}
            for name, policy in fresh.items():
                start = time.process_time()
                context, texts = policy._render(*state)
                scores[name] = policy.score(context, texts)
                times[name].append(time.process_time() - start)
            if "old" in scores:
                worst = max(worst, *(abs(a - b) for a, b in zip(scores["old"], scores["new"], strict=True)))
    for name, values in times.items():
        print(
            f"{name}: CPU ms per step  median {1000 * statistics.median(values):.1f}  "
            f"mean {1000 * statistics.mean(values):.1f}  (n={len(values)})"
        )
    if "old" in times:
        print(f"speed-up (median) {statistics.median(times['old']) / statistics.median(times['new']):.2f}x")
        print(f"largest score difference old vs new: {worst:.2e}")


if __name__ == "__main__":
    main()
