"""Time `agentpref-tui --train` on the demo workspace, with each speed option on and off.

Every variant is the real command in its own process (as a user runs it), on the same data,
in one run of this script; the figures are wall time, the command's CPU time (user + kernel:
the variant with glibc's malloc defaults shows the kernel time `core/allocator.py` saves), TRL's
samples/s and tokens/s, and the ratio of each to the default settings. On a GPU the script
adds TRL's default DPOConfig (gradient checkpointing on, no precomputed reference, max_length
1024) as the baseline to compare tokens/s against, and names the card.

Floor on the 2-core reference machine: the default demo run finishes in under 2 minutes.
Run: `.venv/bin/python bench/train.py [--workspace WS]` (builds the demo in a temp folder when
no workspace is given; the workspace's preferences are accepted with `label --auto`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage import runs  # noqa: E402
from storage.workspace import Workspace  # noqa: E402


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


MALLOC_DEFAULTS = "glibc malloc's defaults"  # core/allocator.py left out


def variants() -> dict[str, list[str]]:
    import torch

    from core.train.run import liger_available

    out: dict[str, list[str]] = {
        "default": [],
        "no precompute_ref_log_probs": ["precompute_ref_log_probs=false"],
        "gradient_checkpointing": ["gradient_checkpointing=true"],
        MALLOC_DEFAULTS: [],
    }
    if liger_available():
        out["liger off"] = ["liger=off"]
        out["liger on"] = ["liger=on"]
    if torch.cuda.is_available():
        out["TRL default DPOConfig"] = [
            "precompute_ref_log_probs=false",
            "gradient_checkpointing=true",
            "max_length=1024",
            "learning_rate=1e-6",
            "liger=off",
        ]
    return out


def measure(ws: Workspace, name: str, overrides: list[str]) -> dict[str, float]:
    run_id = f"bench-{int(time.time() * 1000) % 10**9}"
    args = ["--train", "-w", str(ws.root), "--run-id", run_id]
    for item in overrides:
        args += ["--set", item]
    start = time.perf_counter()
    cpu_start = os.times()
    result = cli(*args, env={"AGENTPREF_MALLOC": "default"} if name == MALLOC_DEFAULTS else None)
    wall = time.perf_counter() - start
    cpu_end = os.times()
    user = cpu_end.children_user - cpu_start.children_user
    kernel = cpu_end.children_system - cpu_start.children_system
    if result.returncode != 0:
        raise SystemExit(f"{name}: --train exited {result.returncode}\n{result.stderr[-2000:]}")
    with ws.store() as store:
        row = runs.get_run(store, run_id)
        tokens = max((v for _, v in runs.metric_series(store, run_id).get("num_tokens", [])), default=0.0)
    final = row.final_metrics if row else {}
    runtime = final.get("train_runtime", wall)
    return {
        "wall_s": wall,
        "cpu_user_s": user,
        "cpu_kernel_s": kernel,
        "train_s": runtime,
        "samples_per_s": final.get("train_samples_per_second", 0.0),
        "tokens_per_s": tokens / runtime if runtime else 0.0,
        "val_accuracy": final.get("eval_rewards/accuracies", float("nan")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="a demo workspace (default: build one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workspace or Path(tmp) / "demo"
        if not (root / "agentpref.db").exists():
            print("building the demo workspace…", flush=True)
            if cli("init", "--demo", "-w", str(root)).returncode != 0:
                raise SystemExit("init --demo failed")
        cli("label", "--auto", "-w", str(root))
        ws = Workspace.open(root)
        import torch

        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
        print(f"device: {device}")
        results = {}
        for name, overrides in variants().items():
            results[name] = measure(ws, name, overrides)
            r = results[name]
            print(
                f"{name:<30} wall {r['wall_s']:6.1f} s  "
                f"cpu {r['cpu_user_s']:5.0f}+{r['cpu_kernel_s']:4.0f} s  "
                f"train {r['train_s']:6.1f} s  "
                f"{r['samples_per_s']:6.2f} samples/s  {r['tokens_per_s']:9.0f} tokens/s  "
                f"val acc {r['val_accuracy']:.2f}",
                flush=True,
            )
        base = results["default"]
        print("\nratios, this variant over the default (above 1: the default is faster)")
        print("(wall time is the fair one: TRL's train time leaves out the precomputed reference pass)")
        for name, r in results.items():
            if name != "default" and r["train_s"] and r["tokens_per_s"]:
                print(
                    f"{name:<30} wall x{r['wall_s'] / base['wall_s']:.2f}  "
                    f"train time x{r['train_s'] / base['train_s']:.2f}  "
                    f"tokens/s x{base['tokens_per_s'] / r['tokens_per_s']:.2f}"
                )
        print(json.dumps({"device": device, "results": results}, indent=2))
        if base["wall_s"] >= 120:
            print(f"FLOOR MISSED: the default demo run took {base['wall_s']:.0f} s (floor 120 s)")


if __name__ == "__main__":
    main()
