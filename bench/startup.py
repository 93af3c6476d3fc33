"""CPU time of `agentpref-tui --help` and `status --json`: what every command pays to start.

Each command runs in its own process, measured as that process's user + system CPU time (wall
time on a shared machine is noise); with `--against REV` the same commands run from a git
worktree of REV in the same run, alternating, so both sides see the same load.
Run: `.venv/bin/python bench/startup.py [--runs 10] [--against HEAD~1]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_of(root: Path, *args: str) -> float:
    """CPU seconds of one `python -m tui ARGS` run from `root`."""
    before = os.times()
    subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--against", metavar="REV", help="compare with this git revision, side by side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        ws = Path(scratch) / "ws"
        subprocess.run(
            [sys.executable, "-m", "tui", "init", "-w", str(ws)], cwd=ROOT, check=True, capture_output=True
        )
        sides = {"this tree": ROOT}
        if args.against:
            other = Path(scratch) / "other"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(other), args.against],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            sides[args.against] = other
        try:
            for command in (["--help"], ["status", "--json", "-w", str(ws)]):
                times: dict[str, list[float]] = {name: [] for name in sides}
                for _ in range(args.runs):
                    for name, root in sides.items():
                        times[name].append(cpu_of(root, *command))
                line = "  ".join(f"{name}: {statistics.median(t) * 1000:.0f} ms" for name, t in times.items())
                print(f"{' '.join(command[:2]):<14} median CPU of {args.runs}  {line}")
        finally:
            if args.against:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(sides[args.against])],
                    cwd=ROOT,
                    check=False,
                    capture_output=True,
                )


if __name__ == "__main__":
    main()
