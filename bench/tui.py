"""TUI speed per key, as CPU time of the app's process, side by side with mini-swe-agent's inspector.

Generates N mini-swe-agent trajectories of 40 steps (the synthetic rollouts of `bench/synthetic.py`,
padded to 40 steps, written as `bench/ingest.py --mini-files` writes them), imports and mines
them into a workspace, then drives the app headless (Textual's `run_test`) and prints, per key,
the median CPU time of the process (`time.process_time` before the key and after the screen is
drawn again: every thread of the app counts, a background worker included) and the median wall
time: the first screen, next pair (`1` and `space`), a side full-screen (`o`) and back, the
rollout list (`r`), opening a rollout (`enter`) and back (`escape`), the next step in it (`j`),
and the CPU an idle app uses on each screen. Wall time on a shared machine is mostly noise.

When mini-swe-agent 2.4.6 is installed (`pip install -e '.[bench]'`) its Textual inspector is
driven on the same trajectory files in the same run: its first screen, next step (`l`) and next
trajectory (`L`), idle; the table ends with ours / peer. `--against TREE_OR_REV` measures an
older tree too (a folder holding core/, storage/ and tui/, or a git revision), on a copy of the
same workspace. Each side runs in a fresh process; `--rounds` alternates them so all sides see
the same load; figures are medians over every round. A process starts an app once (a second
start finds the stylesheets parsed and caches warm), so the first screen is also sampled in
`--starts` more processes a side and round (default 5) that only open the app. Every tree
measured is byte-compiled first (`compileall`), as an installed package is: the inspector comes
compiled from its wheel, and compiling our modules on import would be counted against the
first screen.

After each next-pair key (and each of the inspector's keys) the bench waits as a person reading
would (`READ_S`, then until no worker runs). Our labelling screen prepares the next pair in a
worker thread during that time; the CPU spent while reading is printed on its own row
("… while reading"), so what a key costs and what was moved off it are both in the table.

Run: `.venv/bin/python bench/tui.py [--sizes 1000,50000] [--rounds 2] [--starts 5] [--against HEAD]
[--keep /tmp/bench-keep]` (`--keep`: each size's workspace built once and reused).
The figures include what Textual's pilot costs per key on an idle app (printed as
`harness`), and not the escape codes a real terminal is sent (headless, nothing is written).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STEPS = 40
PEER = "mini-swe-agent 2.4.6"
HARNESS = "a key nothing is bound to"
READ_S = 0.5  # a person reading the pair before the next key (the app prepares after 0.3 s)
Samples = dict[str, list[float]]


# -- the data ------------------------------------------------------------------------------------
def padded(record: dict[str, Any], steps: int, rng: random.Random) -> dict[str, Any]:
    """`record` with exactly `steps` steps: searches inserted before its last two (the final test
    run and the finish stay last), or its first `steps` kept."""
    from bench import synthetic

    have = record["steps"][:steps]
    tail = min(2, len(have))
    while len(have) < steps:
        term = rng.choice(synthetic.NAMES)
        hits = "\n".join(
            f"src/pkg/{rng.choice(synthetic.MODULES)}:{rng.randint(1, 200)}: {term}("
            for _ in range(rng.randint(1, 30))
        )
        step = {
            "index": 0,
            "thought": f"Where else is {term} used?",
            "duration_s": round(rng.uniform(0.05, 4.0), 3),
            "tokens_in": rng.randint(500, 9000),
            "tokens_out": rng.randint(10, 400),
            "tool_call": {
                "name": "search",
                "arguments": {"query": term, "path": "src"},
                "id": f"c{len(have)}",
            },
            "observation": {"content": hits, "exit_code": None, "error": False},
        }
        have.insert(len(have) - tail, step)
    for index, step in enumerate(have):
        step["index"] = index
    return {**record, "steps": have}


def write_trajectories(folder: Path, count: int, seed: int, observation_bytes: int) -> list[Path]:
    """`count` mini-swe-agent files of STEPS steps, eight to a task, as `bench/ingest.py` writes them."""
    from bench import synthetic
    from bench.ingest import mini_swe_agent_trajectory

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    tasks: dict[str, dict[str, Any]] = {}
    paths = []
    for number, record in enumerate(synthetic.records(count, seed=seed)):
        record = padded(record, STEPS, rng)
        record["task"] = tasks.setdefault(record["task_id"], record["task"])
        path = folder / f"{record['task_id']}-{number:05d}.traj.json"
        path.write_text(json.dumps(mini_swe_agent_trajectory(record, observation_bytes), indent=1))
        paths.append(path)
    return paths


def build_workspace(root: Path, paths: list[Path]) -> tuple[int, int]:
    """Import and mine `paths` into a new workspace at `root`: (rollouts, pairs)."""
    from storage import service
    from storage.ingest import import_files
    from storage.workspace import Workspace

    ws = Workspace.create(root)
    with ws.store() as store:
        import_files(store, paths, ws.config())
        service.mine_proposals(store, ws.config())
        return store.scalar("SELECT count(*) FROM rollouts"), store.scalar("SELECT count(*) FROM pairs")


# -- measuring, in the app's own process ---------------------------------------------------------
class Meter:
    """CPU and wall time per key, and idle CPU, gathered as samples by figure name."""

    def __init__(self, pilot: Any) -> None:
        self.pilot = pilot
        self.samples: Samples = defaultdict(list)

    def add(self, figure: str, cpu0: float, wall0: float) -> None:
        self.samples[figure].append(time.process_time() - cpu0)
        self.samples[f"{figure}/wall"].append(time.perf_counter() - wall0)

    async def key(self, figure: str | None, key: str, read: bool = False) -> None:
        """Press `key` and wait until the app is idle and its screen drawn; `figure`: record it.
        `read`: then wait as a person reading the screen would, its CPU recorded apart."""
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await self.pilot.press(key)
        await self.pilot.pause()
        if figure is not None:
            self.add(figure, cpu0, wall0)
        if read:
            await self.read(figure)

    async def read(self, figure: str | None) -> None:
        """READ_S of reading, and as long as a worker still runs: CPU in `{figure}/background`."""
        cpu0 = time.process_time()
        await asyncio.sleep(READ_S)
        while any(worker.is_running for worker in self.pilot.app.workers):
            await asyncio.sleep(0.01)
        await self.pilot.pause()
        if figure is not None:
            self.samples[f"{figure}/background"].append(time.process_time() - cpu0)

    async def idle(self, figure: str, seconds: float) -> None:
        """The share of a core the app uses while nothing is pressed (a sample in %)."""
        await self.pilot.pause()
        # What a key left settles first: a worker, a refresh, and the one collection our app runs
        # once keys stop (tui/idle_gc.py: on the first tick of its 1 s timer after 1 s without a
        # key, so within 2 s): idle is the steady state after.
        await asyncio.sleep(2.5)
        cpu0 = time.process_time()
        await asyncio.sleep(seconds)
        self.samples[f"idle: {figure}"].append((time.process_time() - cpu0) / seconds * 100)


async def measure_ours(args: argparse.Namespace) -> Samples:
    from tui.app import make_app

    cpu0, wall0 = time.process_time(), time.perf_counter()
    app = make_app(Path(args.workspace))
    async with app.run_test(size=args.size) as pilot:
        meter = Meter(pilot)
        await pilot.pause()
        meter.add("first screen", cpu0, wall0)
        await meter.read("first screen")
        if args.start_only:
            return meter.samples
        for key, figure in (("1", "next pair (1)"), ("space", "next pair (space)")):
            for _ in range(args.presses):
                await meter.key(figure, key, read=True)
        for number in range(args.opens):
            await meter.key("side full-screen (o)", "o")
            if number == 0:
                await meter.idle("rollout detail", args.idle_s)
            await meter.key("back to the pair (escape)", "escape")
        await meter.idle("labelling", args.idle_s)  # after a detail was shown: it stays quiet
        await meter.key("rollout list (r)", "r")
        per_open = max(1, -(-args.presses // args.opens))
        for _ in range(args.opens):
            await meter.key("open a rollout (enter)", "enter")
            for _ in range(min(per_open, STEPS - 1)):
                await meter.key("next step (j)", "j")
            await meter.key("back to the list (escape)", "escape")
            await meter.key(None, "j")  # the next rollout of the list
        await meter.idle("rollout list", args.idle_s)
        await meter.key(None, "t")
        await meter.idle("training runs", args.idle_s)
        await meter.key(None, "v")
        await meter.idle("evaluations", args.idle_s)
    return meter.samples


async def measure_peer(args: argparse.Namespace) -> Samples:
    os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")
    os.environ.setdefault("MSWEA_GLOBAL_CONFIG_DIR", tempfile.mkdtemp(prefix="mswea-"))
    from minisweagent.run.utilities.inspector import TrajectoryInspector

    files = sorted(Path(args.files).rglob("*.traj.json"))  # as `mini-extra inspect DIR` lists them
    cpu0, wall0 = time.process_time(), time.perf_counter()
    app = TrajectoryInspector(files)
    async with app.run_test(size=args.size) as pilot:
        meter = Meter(pilot)
        await pilot.pause()
        meter.add("first screen", cpu0, wall0)
        await meter.read("first screen")
        if args.start_only:
            return meter.samples
        await meter.idle("inspector", args.idle_s)
        for _ in range(args.presses):
            if app.i_step >= app.n_steps - 1:
                await meter.key(None, "0")  # back to the first step, not measured
            await meter.key("next step (l)", "l", read=True)
        for _ in range(args.presses):
            await meter.key("next trajectory (L)", "L", read=True)
    return meter.samples


async def measure_harness(args: argparse.Namespace) -> Samples:
    """What the pilot itself costs per key, on an app that does nothing with it."""
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Static

    class Idle(App[None]):
        def compose(self) -> ComposeResult:
            yield Static("idle")
            yield Footer()

    async with Idle().run_test(size=args.size) as pilot:
        meter = Meter(pilot)
        for _ in range(args.presses):
            await meter.key(HARNESS, "z")
    return meter.samples


CHILDREN: dict[str, Callable[[argparse.Namespace], Awaitable[Samples]]] = {
    "ours": measure_ours,
    "peer": measure_peer,
    "harness": measure_harness,
}


def child_main(args: argparse.Namespace) -> None:
    sys.path.insert(0, args.tree)
    samples = asyncio.run(CHILDREN[args.child](args))
    Path(args.out).write_text(json.dumps(samples))


# -- driving the sides and printing ---------------------------------------------------------------
def run_child(
    kind: str, tree: Path, args: argparse.Namespace, scratch: Path, start_only: bool = False, **paths: Path
) -> Samples:
    """`start_only`: the first screen alone (a process can start an app once: a second start
    finds its stylesheets parsed and its caches warm)."""
    out = scratch / f"{kind}.json"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        "--tree",
        str(tree),
        "--out",
        str(out),
        "--presses",
        str(args.presses),
        "--opens",
        str(args.opens),
        "--idle-s",
        str(args.idle_s),
        "--size",
        f"{args.size[0]}x{args.size[1]}",
        *[item for name, path in paths.items() for item in (f"--{name}", str(path))],
        *(["--start-only"] if start_only else []),
    ]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(command, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def peer_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("minisweagent") is not None


def tree_of(against: str, scratch: Path) -> Path:
    """A folder holding core/, storage/ and tui/ as given, or a git worktree of a revision."""
    if (Path(against) / "tui").is_dir():
        return Path(against).resolve()
    tree = scratch / "against"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), against], cwd=ROOT, check=True, capture_output=True
    )
    return tree


def median(samples: Samples, figure: str | None) -> float | None:
    values = samples.get(figure) if figure else None
    return statistics.median(values) if values else None


# (our figure, the inspector's figure it is compared with)
ROWS = [
    ("first screen", "first screen"),
    ("next pair (1)", "next trajectory (L)"),
    ("next pair (space)", "next trajectory (L)"),
    ("next step (j)", "next step (l)"),
    ("open a rollout (enter)", "next trajectory (L)"),
    ("back to the list (escape)", None),
    ("side full-screen (o)", "next trajectory (L)"),
    ("back to the pair (escape)", None),
    ("rollout list (r)", None),
]
IDLE = ["labelling", "rollout detail", "rollout list", "training runs", "evaluations"]


def background(samples: Samples, figure: str | None) -> str:
    cpu = median(samples, f"{figure}/background")
    return "–" if cpu is None else f"{cpu * 1000:.1f}"


def cell(samples: Samples, figure: str | None) -> str:
    cpu, wall = median(samples, figure), median(samples, f"{figure}/wall")
    return "–" if cpu is None or wall is None else f"{cpu * 1000:.1f} ({wall * 1000:.0f})"


def report(sides: dict[str, Samples], peer: Samples | None, harness: Samples) -> None:
    """A markdown table: a row per key (then idle per screen), a column per side, and ours / peer."""
    names = list(sides)
    ours = sides[names[0]]
    header = ["median CPU ms per key (wall ms)", *names]
    if peer is not None:
        header += [PEER, "ours / peer"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for figure, theirs in ROWS:
        row = [f"{figure}, n={len(ours.get(figure, []))}", *(cell(sides[name], figure) for name in names)]
        if peer is not None:
            mine, other = median(ours, figure), median(peer, theirs)
            ratio = f"{mine / other:.2f} (vs {theirs})" if mine is not None and other else "–"
            row += [cell(peer, theirs) + (f" {theirs}" if theirs else ""), ratio]
        print("| " + " | ".join(row) + " |")
        if any(f"{figure}/background" in sides[name] for name in names):
            row = ["… then while reading, CPU ms", *(background(sides[name], figure) for name in names)]
            if peer is not None:
                row += [background(peer, theirs), "–"]
            print("| " + " | ".join(row) + " |")
    for screen in IDLE:
        row = [f"idle on the {screen}, % of a core", *(percent(sides[name], screen) for name in names)]
        if peer is not None:
            row += [percent(peer, "inspector"), "–"]
        print("| " + " | ".join(row) + " |")
    print(f"harness (the pilot alone, per key, on an idle app): {cell(harness, HARNESS)} ms, included above")


def percent(samples: Samples, screen: str) -> str:
    value = median(samples, f"idle: {screen}")
    return "–" if value is None else f"{value:.2f}"


def parse_size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000", help="rollouts in the workspace, comma separated")
    parser.add_argument("--observation-kb", type=float, default=8, help="grow each output to about this")
    parser.add_argument("--presses", type=int, default=40, help="samples of each next-pair and next-step key")
    parser.add_argument("--opens", type=int, default=10, help="rollouts opened (and sides full-screen)")
    parser.add_argument("--idle-s", type=float, default=3.0, help="seconds of idle measured on each screen")
    parser.add_argument("--rounds", type=int, default=1, help="runs of every side, alternating")
    parser.add_argument("--size", type=parse_size, default=(160, 48), help="terminal, e.g. 80x24")
    parser.add_argument(
        "--starts", type=int, default=5, help="more starts of every side a round, for the first screen alone"
    )
    parser.add_argument("--against", metavar="TREE_OR_REV", help="an older tree, measured side by side")
    parser.add_argument("--no-peer", action="store_true", help="skip mini-swe-agent's inspector")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="keep each size's workspace in DIR, reuse it next time")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--tree", default=str(ROOT), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--workspace", help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--start-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return
    sys.path.insert(0, str(ROOT))
    peer = not args.no_peer and peer_installed()
    if not args.no_peer and not peer:
        print(f"{PEER} is not installed (pip install -e '.[bench]'): ours only")
    with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp:
        scratch = Path(tmp)
        trees = {"ours": ROOT}
        if args.against:
            trees[f"before ({args.against})"] = tree_of(args.against, scratch)
        try:
            pairs = {}
            for count in (int(n) for n in args.sizes.split(",")):
                pairs[count] = measure_size(count, trees, peer, args, scratch / str(count))
            if len(pairs) > 1:
                (small, base), *rest = sorted(pairs.items())
                for count, figure in rest:
                    print(f"next pair (1) at {count:,} rollouts / at {small:,}: {figure / base:.2f}")
        finally:
            if args.against and trees[f"before ({args.against})"].is_relative_to(scratch):
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(trees[f"before ({args.against})"])],
                    cwd=ROOT,
                    check=False,
                    capture_output=True,
                )


def measure_size(
    count: int, trees: dict[str, Path], peer: bool, args: argparse.Namespace, scratch: Path
) -> float:
    """Build the workspace of `count` rollouts, measure every side, print the table; our median
    CPU per next pair (`1`)."""
    start = time.perf_counter()
    if args.keep:  # built once per size, seed and output size, and reused
        scratch = Path(args.keep) / f"{count}-seed{args.seed}-{args.observation_kb:g}kb"
    if (scratch / "built").exists():
        from storage.workspace import Workspace

        paths = sorted((scratch / "trajs").glob("*.traj.json"))
        with Workspace.open(scratch / "ws").store() as store:
            rollouts = store.scalar("SELECT count(*) FROM rollouts")
            pairs = store.scalar("SELECT count(*) FROM pairs")
        how = f"kept in {scratch}"
    else:
        scratch.mkdir(parents=True, exist_ok=bool(args.keep))
        paths = write_trajectories(scratch / "trajs", count, args.seed, int(args.observation_kb * 1000))
        rollouts, pairs = build_workspace(scratch / "ws", paths)
        (scratch / "built").touch()
        how = f"built in {time.perf_counter() - start:.0f} s"
    size_mb = sum(p.stat().st_size for p in paths) / 1e6
    print(
        f"\n{count} mini-swe-agent trajectories of {STEPS} steps ({size_mb:.0f} MB): {rollouts} rollouts, "
        f"{pairs} pairs, {how}; {args.size[0]}x{args.size[1]}, {args.rounds} round(s)"
    )
    if pairs <= args.presses:
        print(f"only {pairs} pairs for {args.presses} decisions: the last `1` presses find none to show")
    for tree in {*trees.values(), ROOT}:  # as installed: byte-compiled (the inspector's wheel is)
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "core", "storage", "tui", "bench"],
            cwd=tree,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    sides: dict[str, Samples] = {name: defaultdict(list) for name in trees}
    peer_samples: Samples = defaultdict(list)
    harness: Samples = defaultdict(list)
    ws = scratch / "ws-copy"

    def fresh_copy() -> Path:
        """The workspace as built: every side starts from the same undecided pairs."""
        shutil.rmtree(ws, ignore_errors=True)
        shutil.copytree(scratch / "ws", ws)
        return ws

    for _ in range(args.rounds):
        fresh_copy()  # a start decides nothing: one copy serves every start of the round
        for _ in range(args.starts):  # a start is one sample of the first screen: noisy, so several
            for name, tree in trees.items():
                for figure, values in run_child("ours", tree, args, scratch, True, workspace=ws).items():
                    sides[name][figure] += values
            if peer:
                trajectories = scratch / "trajs"
                for figure, values in run_child(
                    "peer", ROOT, args, scratch, True, files=trajectories
                ).items():
                    peer_samples[figure] += values
        for name, tree in trees.items():
            for figure, values in run_child("ours", tree, args, scratch, workspace=fresh_copy()).items():
                sides[name][figure] += values
        if peer:
            for figure, values in run_child("peer", ROOT, args, scratch, files=scratch / "trajs").items():
                peer_samples[figure] += values
        for figure, values in run_child("harness", ROOT, args, scratch).items():
            harness[figure] += values
    report(sides, peer_samples if peer else None, harness)
    shutil.rmtree(ws, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(scratch)
    return median(sides["ours"], "next pair (1)") or 0.0


if __name__ == "__main__":
    main()
