"""Import + check + mine 10,000 synthetic rollouts through the real CLI; print the figures.

Floors on the 2-core reference machine: under 10 s in all, a database under 300 MB,
peak memory under 1 GB. Run: `.venv/bin/python bench/ingest.py [--rollouts N]`.

`--mini-files N` instead writes N mini-swe-agent trajectory files (the same synthetic
rollouts, one per file) and imports them twice, in one process and with the worker pool,
printing wall time and CPU time of the import and its worker processes: CPU over wall means
more than one core was busy. `--observation-kb K` grows each tool output to about K kB (real
runs print more than the synthetic ones: 1,000 files of 40 steps came to 600 MB).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil  # installed with accelerate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import synthetic
from core.config import Config
from storage import ingest
from storage.store import Store

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


def bash_command(call: dict[str, Any]) -> str:
    """A synthetic structured tool call as the shell command a mini-swe-agent would run."""
    args = call["arguments"]
    match call["name"]:
        case "bash":
            return str(args["command"])
        case "read_file":
            return f"cat {shlex.quote(args['path'])}"
        case "list_files":
            return f"ls -R {shlex.quote(args['path'])}"
        case "search":
            return f"grep -rn {shlex.quote(args['query'])} {shlex.quote(args['path'])}"
        case "run_tests":
            return "python -m pytest -q"
        case "edit":
            return f"cat > {shlex.quote(args['path'])} <<'EOF'\n{args['new']}\nEOF"
        case _:
            return "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT && git diff"


def mini_swe_agent_trajectory(record: dict[str, Any], observation_bytes: int = 0) -> dict[str, Any]:
    """A native synthetic record as a mini-swe-agent 1.1 trajectory of a tool-calling model,
    each non-empty observation repeated up to `observation_bytes` (real runs print more)."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a helpful assistant that can interact with a computer shell."},
        {"role": "user", "content": f"<pr_description>\n{record['task']['instruction']}\n</pr_description>"},
    ]
    for step in record["steps"]:
        usage = {"prompt_tokens": step["tokens_in"], "completion_tokens": step["tokens_out"]}
        obs = dict(step["observation"])
        if obs["content"]:
            obs["content"] = "\n".join([obs["content"]] * (1 + observation_bytes // len(obs["content"])))
        code = obs["exit_code"] if obs["exit_code"] is not None else int(obs["error"])
        if "tool_call" not in step:  # a turn the harness rejected: only its feedback is kept
            extra = {"interrupt_type": "FormatError", "n_actions": 0, "model_response": step["thought"]}
            messages.append({"role": "user", "content": obs["content"], "extra": extra})
            continue
        call_id = step["tool_call"]["id"]
        command = bash_command(step["tool_call"])
        tool_call = {"name": "bash", "arguments": json.dumps({"command": command})}
        messages.append(
            {
                "role": "assistant",
                "content": step["thought"],
                "tool_calls": [{"id": call_id, "type": "function", "function": tool_call}],
                "extra": {
                    "actions": [{"command": command, "tool_call_id": call_id}],
                    "response": {"usage": usage},
                },
            }
        )
        output = f"<returncode>{code}</returncode>\n<output>\n{obs['content']}</output>"
        extra = {"raw_output": obs["content"], "returncode": code}
        messages.append({"role": "tool", "tool_call_id": call_id, "content": output, "extra": extra})
    status = "Submitted" if record["exit_status"] == "submitted" else "LimitsExceeded"
    submission = record["final_diff"] if status == "Submitted" else ""
    messages.append({"role": "exit", "content": submission, "extra": {"exit_status": status}})
    info = {
        "instance_id": record["task_id"],
        "mini_version": "1.17.0",
        "exit_status": status,
        "submission": submission,
        "config": {
            "model": {"model_name": record["policy"]},
            "agent_type": "minisweagent.agents.default.DefaultAgent",
        },
    }
    return {"info": info, "messages": messages, "trajectory_format": "mini-swe-agent-1.1"}


def write_mini_swe_agent(folder: Path, count: int, seed: int, observation_bytes: int = 0) -> list[Path]:
    """`count` trajectory files, one rollout each, eight to a task as `synthetic` makes them,
    and each task with one problem statement, as a harness's runs of one task have."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    tasks: dict[str, dict[str, Any]] = {}
    for number, record in enumerate(synthetic.records(count, seed=seed)):
        record["task"] = tasks.setdefault(record["task_id"], record["task"])
        path = folder / f"{record['task_id']}-{number:05d}.traj.json"
        path.write_text(json.dumps(mini_swe_agent_trajectory(record, observation_bytes), indent=1))
        paths.append(path)
    return paths


def cpu_seconds() -> tuple[float, float]:
    """User + system time of this process, and of its children that have ended (the workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def timed_import(paths: list[Path], db: Path, workers: int) -> tuple[float, float, float, int]:
    """(wall s, CPU s here, CPU s in workers, rollouts stored) of one import."""
    with Store(db) as store:
        start, (here, workers_cpu) = time.perf_counter(), cpu_seconds()
        report = ingest.import_files(store, paths, Config(), workers=workers)
        wall, (here_end, workers_end) = time.perf_counter() - start, cpu_seconds()
    if report.failed:
        raise SystemExit(f"import failed: {report.failed[0].error}")
    return wall, here_end - here, workers_end - workers_cpu, report.imported


def mini_files_bench(count: int, seed: int, observation_bytes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_mini_swe_agent(Path(tmp) / "trajs", count, seed, observation_bytes)
        size_mb = sum(p.stat().st_size for p in paths) / 1e6
        print(f"input:          {count} mini-swe-agent files, {size_mb:.1f} MB")
        pool = ingest.default_workers()
        for label, workers in (("one process", 1), (f"{pool} workers", pool)):
            wall, here, children, stored = timed_import(paths, Path(tmp) / f"{workers}.db", workers)
            cpu = here + children
            print(
                f"{label + ':':<15} {wall:.2f} s wall, {cpu:.2f} s CPU ({cpu / wall:.2f} cores; "
                f"{here:.2f} s importing process, {children:.2f} s workers), {stored} rollouts"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rollouts", type=int, default=10_000)
    parser.add_argument("--mini-files", type=int, metavar="N", help="import N mini-swe-agent files instead")
    parser.add_argument(
        "--observation-kb", type=int, default=0, help="with --mini-files: grow outputs to this"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.mini_files:
        mini_files_bench(args.mini_files, args.seed, args.observation_kb * 1000)
        return
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
