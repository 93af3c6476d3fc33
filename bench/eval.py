"""Time `agentpref-tui eval` on the demo: the whole evaluation's wall time and rollouts/s.

The evaluation is the real command in its own process: 8 held-out tasks x 8 rollouts x 2
models (base, base + adapter) by default. Floor on the 2-core reference machine: under
3 minutes. Run: `.venv/bin/python bench/eval.py [--workspace WS]`; without a workspace the
script builds the demo, accepts its proposals (`label --auto`) and trains a run first.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage import evals, runs  # noqa: E402
from storage.workspace import Workspace  # noqa: E402


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def prepare(root: Path) -> None:
    if not (root / "agentpref.db").exists():
        print("building the demo workspace…", flush=True)
        if cli("init", "--demo", "-w", str(root)).returncode != 0:
            raise SystemExit("init --demo failed")
    with Workspace.open(root).store() as store:
        trained = runs.latest_finished(store) is not None
    if not trained:
        cli("label", "--auto", "-w", str(root))
        print("training a run…", flush=True)
        result = cli("--train", "-w", str(root))
        if result.returncode != 0:
            raise SystemExit(f"--train failed:\n{result.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="a demo workspace (default: build one)")
    parser.add_argument("--n", type=int, default=8, help="rollouts per task and side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workspace or Path(tmp) / "demo"
        prepare(root)
        eval_id = f"bench-{int(time.time())}"
        start = time.perf_counter()
        result = cli("eval", "-w", str(root), "--n", str(args.n), "--eval-id", eval_id, "--json")
        wall = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"eval failed:\n{result.stderr[-2000:]}")
        with Workspace.open(root).store() as store:
            row = evals.get_eval(store, eval_id)
            durations = [
                r[0]
                for r in store.db.execute("SELECT duration_s FROM rollouts WHERE eval_id = ?", [eval_id])
                if r[0] is not None
            ]
        total = len(durations)
        tasks = len(row.config.tasks) if row else 0
        print(f"evaluation {eval_id}: {tasks} tasks x {args.n} rollouts x 2 models = {total} rollouts")
        print(f"wall time (whole command, both models loaded) {wall:.1f} s  (floor 180 s)")
        print(f"rollouts/s {total / wall:.2f}; rollout duration median {statistics.median(durations):.2f} s")
        if wall >= 180:
            print("FLOOR MISSED")


if __name__ == "__main__":
    main()
