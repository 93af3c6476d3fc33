"""What every policy does: given the task and the steps so far, produce the next turn.

Three kinds: `scored` picks among the admissible actions by length-normalised
log-likelihood; `hf` generates freely with a local model; `openai` asks an OpenAI-compatible
endpoint (vLLM serves base models and LoRA adapters this way). `build_policy` makes the one
the workspace config names.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.agent.confinement import HOW_TO_CONFINE, RLIMITS, UNCONFINED, isolation
from core.agent.env import TaskEnv
from core.agent.model import ModelError
from core.config import PolicyConfig
from core.schema import Step, ToolCall

# The policies whose model writes the code that `run_tests` executes. `scored` only picks among
# edits the task's author wrote, so it runs wherever the rest of the harness does.
MODEL_WRITTEN = ("hf", "openai")


class PolicyError(RuntimeError):
    """The policy could not produce a turn (an endpoint down, a model that crashed)."""


class UnconfinedError(ModelError):
    """A model would write code that runs with rlimits alone, and the config does not allow it.

    A ModelError, so the CLI and the evaluation report it as they report a model that cannot
    be used here.
    """


@dataclass(frozen=True)
class Turn:
    thought: str
    tool_call: ToolCall | None
    malformed: str | None = None  # why the turn is not a valid tool call
    tokens_in: int | None = None
    tokens_out: int | None = None


class Policy(Protocol):
    label: str  # recorded on every rollout it makes
    cfg: PolicyConfig

    def act(self, env: TaskEnv, steps: list[Step], rng: random.Random, temperature: float) -> Turn: ...


def rollout_seed(base: int, task_id: str, index: int) -> int:
    """The seed of rollout `index` of a task: the same for every model (common random numbers)."""
    digest = hashlib.blake2b(f"{base}:{task_id}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1  # 63 bits: SQLite integers are signed


def check_confinement(kind: str, allow_unconfined: bool) -> None:
    """Raise UnconfinedError if a `kind` policy's tests would run unconfined without leave."""
    if kind not in MODEL_WRITTEN or allow_unconfined or isolation() != RLIMITS:
        return
    raise UnconfinedError(
        f"the {kind} policy's model writes the code its test runs execute, and {UNCONFINED}. "
        f"To confine them, {HOW_TO_CONFINE}. To run them unconfined anyway, set "
        "`allow_unconfined = true` under [sandbox] in agentpref.toml"
    )


def build_policy(
    cfg: PolicyConfig, workspace_root: Path, adapter: Path | None = None, allow_unconfined: bool = False
) -> Policy:
    """The configured policy; `adapter` (a run's output) overrides the config's adapter.

    `allow_unconfined` is `[sandbox] allow_unconfined`: without it, `hf` and `openai` are refused
    (before any model loads) where test runs would have rlimits alone.
    """
    check_confinement(cfg.kind, allow_unconfined)
    if cfg.kind == "openai":
        from core.agent.openai_policy import OpenAIPolicy

        # A run's adapter is served under the run's id (the model card says
        # `--lora-modules RUN_ID=runs/RUN_ID/adapter`); any other folder under its own name.
        served = (
            (adapter.parent.name if adapter.name == "adapter" else adapter.name) if adapter else cfg.model
        )
        return OpenAIPolicy(cfg, model_name=served)
    from core.agent.model import load_model, share_cpu

    model_path = _resolve(workspace_root, cfg.model)
    adapter_path = adapter or (_resolve(workspace_root, cfg.adapter) if cfg.adapter else None)
    loaded = load_model(
        model_path, adapter_path, cfg.device, reference=cfg.kind == "scored" and cfg.scoring == "ratio"
    )
    if loaded.device == "cpu":
        share_cpu(cfg.concurrency)
    if cfg.kind == "scored":
        from core.agent.scored import ScoredPolicy

        return ScoredPolicy(loaded, cfg)
    from core.agent.generate import GeneratePolicy

    return GeneratePolicy(loaded, cfg)


def _resolve(root: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else root / candidate
