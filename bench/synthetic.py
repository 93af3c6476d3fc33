"""Seeded synthetic rollouts in the native format, for the benchmarks and the tests.

They imitate what agents really do on small buggy repositories: structured tool calls and
shell commands mixed, 5-60 steps, observations from a few bytes to 20 kB, and every kind of
violation the checks look for, each at a plausible rate.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.formats.native import VERSION

MODULES = ["calc.py", "parser.py", "utils.py", "models.py", "cache.py", "io_helpers.py"]
TESTS = ["tests/test_calc.py", "tests/test_parser.py", "tests/test_utils.py"]
NEIGHBOURS = ["README.md", "setup.cfg", "pyproject.toml", "docs/usage.md"]
CODE_LINES = [
    "def {n}(values, default=None):",
    "    if not values:",
    "        return default",
    "    total = 0",
    "    for index, value in enumerate(values):",
    "        total += value * weights.get(index, 1)",
    "    return total / len(values)",
    "class {N}Cache:",
    "    def __init__(self, size=128):",
    "        self._items = {{}}",
    "    # keep the oldest entry first so eviction is O(1)",
    "import functools",
    "from pathlib import Path",
    "    raise ValueError(f'bad input: {{value!r}}')",
]
NAMES = ["mean", "parse_row", "merge", "load", "clamp", "tokenize", "render", "lookup"]


class _Gen:
    def __init__(self, rng: random.Random, task_index: int, step_limit: int) -> None:
        self.rng = rng
        self.task_index = task_index
        self.step_limit = step_limit
        self.steps: list[dict[str, Any]] = []
        self.shell = rng.random() < 0.5  # shell-style harness (SWE-agent-like) or structured tools
        self.module = f"src/pkg/{rng.choice(MODULES)}"
        self.test_file = rng.choice(TESTS)

    def code(self, size: int) -> str:
        lines, total = [], 0
        while total < size:
            line = self.rng.choice(CODE_LINES).format(
                n=self.rng.choice(NAMES), N=self.rng.choice(NAMES).title()
            )
            lines.append(line)
            total += len(line) + 1
        return "\n".join(lines)

    def obs_size(self) -> int:
        return min(20_000, int(self.rng.lognormvariate(6.0, 1.2)))

    def add(
        self,
        thought: str,
        name: str,
        args: dict[str, Any],
        content: str,
        exit_code: int | None = None,
        error: bool = False,
        malformed: str | None = None,
    ) -> None:
        step: dict[str, Any] = {
            "index": len(self.steps),
            "thought": thought,
            "duration_s": round(self.rng.uniform(0.05, 4.0), 3),
            "tokens_in": self.rng.randint(500, 9000),
            "tokens_out": self.rng.randint(10, 400),
        }
        if malformed is None:
            step["tool_call"] = {"name": name, "arguments": args, "id": f"call_{self.rng.getrandbits(40):x}"}
        else:
            step["malformed"] = malformed
        step["observation"] = {"content": content, "exit_code": exit_code, "error": error}
        self.steps.append(step)

    def read(self, path: str) -> None:
        content = self.code(self.obs_size())
        if self.shell:
            self.add(f"Let me look at {path}.", "bash", {"command": f"cat {path}"}, content, 0)
        else:
            self.add(f"Reading {path}.", "read_file", {"path": path}, content)

    def missing(self) -> None:
        path = f"src/pkg/{self.rng.choice(['helpers', 'core', 'legacy'])}_{self.rng.randint(1, 9)}.py"
        if self.shell:
            self.add(
                "Check the helper module.",
                "bash",
                {"command": f"cat {path}"},
                f"cat: {path}: No such file or directory",
                1,
            )
        else:
            self.add(
                "Check the helper module.",
                "read_file",
                {"path": path},
                f"Error: file not found: {path}",
                error=True,
            )

    def explore(self) -> None:
        if self.rng.random() < 0.5:
            listing = "\n".join(["src/pkg/" + m for m in MODULES] + TESTS + NEIGHBOURS)
            if self.shell:
                self.add("What is in the repo?", "bash", {"command": "ls -R src tests"}, listing, 0)
            else:
                self.add("What is in the repo?", "list_files", {"path": "."}, listing)
        else:
            term = self.rng.choice(NAMES)
            hits = "\n".join(
                f"{self.module}:{self.rng.randint(1, 200)}: {term}(" for _ in range(self.rng.randint(1, 30))
            )
            if self.shell:
                self.add(f"Where is {term} used?", "bash", {"command": f"grep -rn '{term}' src/"}, hits, 0)
            else:
                self.add(f"Where is {term} used?", "search", {"query": term, "path": "src"}, hits)

    def test(self, failing: bool, quote_next: bool = False) -> str:
        name = f"test_{self.rng.choice(NAMES)}_{self.rng.randint(1, 40)}"
        if failing:
            line = f"E       assert {self.rng.randint(2, 99)} == {self.rng.randint(100, 999)}"
            body = (
                f"============ FAILURES ============\n___ {name} ___\n{self.code(self.obs_size() // 2)}\n"
                f"{line}\n{self.test_file}:{self.rng.randint(5, 80)}: AssertionError\n"
                f"=========== 1 failed, {self.rng.randint(1, 30)} passed in 0.41s ==========="
            )
        else:
            line = ""
            dots = "." * self.rng.randint(3, 40)
            body = f"{dots}\n=========== {self.rng.randint(3, 40)} passed in 0.33s ==========="
        code = 1 if failing else 0
        if self.shell:
            self.add("Run the tests.", "bash", {"command": "python -m pytest -q"}, body, code)
        else:
            self.add("Run the tests.", "run_tests", {}, body, code)
        return line.strip()

    def edit(self, path: str, thought: str, lines: int = 2) -> None:
        old = self.code(40 * lines)
        new = self.code(40 * lines)
        if self.shell:
            self.add(
                thought, "bash", {"command": f"sed -i 's/total += value/total += value or 0/' {path}"}, "", 0
            )
        else:
            self.add(thought, "edit", {"path": path, "old": old, "new": new}, f"Edited {path}.")

    def finish(self) -> None:
        if self.shell:
            self.add("Done.", "bash", {"command": "submit"}, "", 0)
        else:
            self.add("Done.", "finish", {"message": "Fixed the bug."}, "")


def rollout_record(rng: random.Random, task_index: int, seed: int) -> dict[str, Any]:
    """One native record for task `synth-<task_index>`."""
    step_limit = 40
    target = rng.randint(5, 60)
    gen = _Gen(rng, task_index, step_limit)
    hit_limit = target >= step_limit and rng.random() < 0.6
    quote = rng.random() < 0.5
    runs_tests = rng.random() < 0.8
    passes = rng.random() < 0.5
    failing_line = ""
    for _ in range(rng.randint(0, 2)):
        gen.explore()
    if rng.random() < 0.15:
        gen.missing()
    if runs_tests:
        failing_line = gen.test(failing=True)
    if rng.random() < 0.75:
        gen.read(gen.module)
    if rng.random() < 0.08:
        gen.add(
            "I will now fix it",
            "",
            {},
            "Your last message had no valid tool call.",
            error=True,
            malformed="no tool call in the assistant turn",
        )
    if rng.random() < 0.1:  # a loop: the same call and output again and again
        if not gen.steps:
            gen.explore()
        for _ in range(rng.randint(3, 4)):
            gen.steps.append({**gen.steps[-1], "index": len(gen.steps)})
    thought = (
        f"The failure says `{failing_line}`, so fix {gen.module}." if quote and failing_line else "Fix it."
    )
    gen.edit(gen.module, thought, lines=rng.choice([1, 2, 3, 30]) if rng.random() < 0.1 else 2)
    if rng.random() < 0.15:
        gen.edit(rng.choice(NEIGHBOURS), "Also update the docs.")
    while len(gen.steps) < min(target, step_limit) - 2:
        rng.choice([gen.explore, lambda: gen.read(gen.module)])()
    if runs_tests and rng.random() < 0.8:
        gen.test(failing=not passes)
    final_failing = runs_tests and not passes
    if hit_limit:
        while len(gen.steps) < step_limit:
            gen.explore()
        exit_status = "step_limit"
    else:
        gen.finish()
        exit_status = "submitted"
    diff_lines = rng.choice([2, 4, 6, 80]) if rng.random() < 0.12 else rng.choice([2, 3, 4])
    diff = _diff(gen.module, diff_lines)
    return {
        "format": VERSION,
        "task_id": f"synth-{task_index:04d}",
        "policy": rng.choice(["qwen2.5-coder-7b", "qwen2.5-coder-7b+lora", "llama-3.1-8b"]),
        "seed": seed,
        "duration_s": round(sum(s["duration_s"] for s in gen.steps), 3),
        "steps": gen.steps,
        "final_diff": diff,
        "tests_passed": None if not runs_tests else not final_failing,
        "exit_status": exit_status,
        "task": {
            "id": f"synth-{task_index:04d}",
            "instruction": f"The tests in {gen.test_file} fail. Fix the bug in src/pkg, not the tests.",
            "test_command": "python -m pytest -q",
            "allowed_globs": ["src/**"],
            "diff_budget": 30,
            "step_limit": step_limit,
        },
    }


def _diff(path: str, changed: int) -> str:
    removed = [f"-    old_line_{i} = compute({i})" for i in range(changed // 2)]
    added = [f"+    new_line_{i} = compute({i}) or 0" for i in range(changed - changed // 2)]
    count_old, count_new = len(removed) + 1, len(added) + 1
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -10,{count_old} +10,{count_new} @@\n"
        " def compute(values):\n" + "\n".join(removed + added) + "\n"
    )


def records(count: int, seed: int = 0, rollouts_per_task: int = 8) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for number in range(count):
        yield rollout_record(rng, number // rollouts_per_task, seed * 1_000_003 + number)


def write_jsonl(path: Path, count: int, seed: int = 0, rollouts_per_task: int = 8) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for record in records(count, seed, rollouts_per_task):
            handle.write(json.dumps(record) + "\n")
    return path
