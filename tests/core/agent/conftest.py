"""A small task with a git repository, built in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.schema import Candidate, CandidateKind, Task
from core.tasks import commit_all

MODULE = "def mean(values):\n    return sum(values) / (len(values) - 1)\n"
TEST = "from calc.stats import mean\n\n\ndef test_mean():\n    assert mean([1, 2, 3]) == 2\n"


def make_task_repo(root: Path) -> tuple[Task, Path]:
    repo = root / "repo"
    (repo / "calc").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "calc" / "__init__.py").write_text("")
    (repo / "calc" / "stats.py").write_text(MODULE)
    (repo / "tests" / "test_stats.py").write_text(TEST)
    (repo / "README.md").write_text("# calc\n")
    commit_all(repo, "start")
    task = Task(
        id="calc-mean",
        instruction="`mean` is wrong: test_mean fails. Fix calc/stats.py.",
        test_command="python -m pytest -q -p no:cacheprovider tests",
        allowed_globs=["calc/**"],
        diff_budget=4,
        step_limit=6,
        test_timeout_s=20,
        candidates=[
            Candidate(
                name="fix",
                kind=CandidateKind.RIGHT,
                path="calc/stats.py",
                old="(len(values) - 1)",
                new="len(values)",
            ),
            Candidate(
                name="readme", kind=CandidateKind.UNRELATED, path="README.md", old="# calc", new="# Calc"
            ),
        ],
    )
    return task, repo


@pytest.fixture
def task_repo(tmp_path: Path) -> tuple[Task, Path]:
    return make_task_repo(tmp_path)


def _build_tiny_model(out: Path, attention_window: int | None = None) -> Path:
    import json

    from core.agent.tools import TOOL_SCHEMAS
    from core.tiny_model import build_tiny_model

    corpus = [MODULE, TEST, json.dumps(TOOL_SCHEMAS), "`mean` is wrong: test_mean fails."] * 5
    corpus += [json.dumps({"name": n, "arguments": {"path": "calc/stats.py"}}) for n in ("read_file", "edit")]
    return build_tiny_model(out, corpus, seed=0, vocab_size=600, attention_window=attention_window)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (tiny) model and tokenizer, built offline once per test session."""
    return _build_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def windowed_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same, attending 16 tokens back only (the demo's model attends 64)."""
    return _build_tiny_model(tmp_path_factory.mktemp("tiny-windowed"), attention_window=16)
