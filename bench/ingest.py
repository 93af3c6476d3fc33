"""Import + check + mine 10,000 synthetic rollouts through the real CLI; print the figures.

Floors on the 2-core reference machine: under 10 s in all, a database under 300 MB,
peak memory under 1 GB. Run: `.venv/bin/python bench/ingest.py [--rollouts N]`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil  # installed with accelerate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import synthetic

PEAK_TREE_RSS = 0


def run(*args: str) -> float:
    """Run one CLI command; track the peak RSS of its whole process tree (workers included)."""
    global PEAK_TREE_RSS
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tui", *args], stdout=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):  # a worker exited mid-sample: the next one counts
            tree = [parent, *parent.children(recursive=True)]
            PEAK_TREE_RSS = max(PEAK_TREE_RSS, sum(p.memory_info().rss for p in tree))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"agentpref-tui {' '.join(args)} exited {proc.returncode}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rollouts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "rollouts.jsonl"
        synthetic.write_jsonl(data, args.rollouts, seed=args.seed)
        steps = sum(len(json.loads(line)["steps"]) for line in data.open())
        ws = Path(tmp) / "ws"
        run("init", "-w", str(ws))
        t_import = run("import", str(data), "-w", str(ws))
        t_mine = run("mine", "-w", str(ws))
        status = json.loads(
            subprocess.run(
                [sys.executable, "-m", "tui", "status", "--json", "-w", str(ws)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        db_bytes = sum(p.stat().st_size for p in ws.glob("agentpref.db*"))
        peak_mb = PEAK_TREE_RSS / 2**20
        total = t_import + t_mine
        size_mb = data.stat().st_size / 1e6
        verdict = {True: "ok", False: "OVER"}
        print(f"input:          {args.rollouts} rollouts, {steps} steps, {size_mb:.1f} MB JSONL")
        print(f"import+check:   {t_import:.2f} s  ({args.rollouts / t_import:,.0f} rollouts/s, ", end="")
        print(f"{steps / t_import:,.0f} steps/s)")
        print(f"mine:           {t_mine:.2f} s  ({status['proposals']} proposals)")
        print(f"total:          {total:.2f} s  (floor 10 s: {verdict[total < 10]})")
        print(f"database:       {db_bytes / 1e6:.1f} MB  (floor 300 MB: {verdict[db_bytes < 300e6]})")
        print(f"peak RSS:       {peak_mb:.0f} MB, all processes (floor 1024 MB: {verdict[peak_mb < 1024]})")
        rates = {k: round(v, 3) for k, v in status["flag_rates"].items()}
        print(f"flag rates:     {json.dumps(rates)}")


if __name__ == "__main__":
    main()
