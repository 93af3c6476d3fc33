"""Import + check + mine 10,000 synthetic rollouts through the real CLI; print the figures.

Floors on the 2-core reference machine: under 10 s in all, a database under 300 MB,
peak memory under 1 GB. Run: `.venv/bin/python bench/ingest.py [--rollouts N]`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import synthetic  # noqa: E402


def run(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tui.cli", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


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
                [sys.executable, "-m", "tui.cli", "status", "--json", "-w", str(ws)],
                check=True, capture_output=True, text=True,
            ).stdout
        )
        db_bytes = sum(p.stat().st_size for p in ws.glob("agentpref.db*"))
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        total = t_import + t_mine
        print(f"input:          {args.rollouts} rollouts, {steps} steps, {data.stat().st_size / 1e6:.1f} MB JSONL")
        print(f"import+check:   {t_import:.2f} s  ({args.rollouts / t_import:,.0f} rollouts/s, {steps / t_import:,.0f} steps/s)")
        print(f"mine:           {t_mine:.2f} s  ({status['proposals']} proposals)")
        print(f"total:          {total:.2f} s  (floor 10 s: {'ok' if total < 10 else 'OVER'})")
        print(f"database:       {db_bytes / 1e6:.1f} MB  (floor 300 MB: {'ok' if db_bytes < 300e6 else 'OVER'})")
        print(f"peak RSS:       {peak_mb:.0f} MB  (floor 1024 MB: {'ok' if peak_mb < 1024 else 'OVER'})")
        rates = {k: round(v, 3) for k, v in status["flag_rates"].items()}
        print(f"flag rates:     {json.dumps(rates)}")


if __name__ == "__main__":
    main()
