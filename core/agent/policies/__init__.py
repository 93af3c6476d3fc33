"""The policies, and `build_policy`, which makes the one the workspace config names.

Three kinds, a module each: `scored` picks among the admissible actions by length-normalised
log-likelihood; `hf` generates freely with a local model; `openai` asks an OpenAI-compatible
endpoint (vLLM serves base models and LoRA adapters this way). What they share (`Turn`,
`Policy`, `PolicyError`, ...) is in `base`, which imports none of them; this module imports
them only inside `build_policy`, so loading the types loads no model code.
"""

from __future__ import annotations

from pathlib import Path

from core.agent.confinement import HOW_TO_CONFINE, RLIMITS, UNCONFINED, isolation
from core.agent.model import ModelError
from core.agent.policies.base import Policy
from core.config import PolicyConfig

# The policies whose model writes the code that `run_tests` executes. `scored` only picks among
# edits the task's author wrote, so it runs wherever the rest of the harness does.
MODEL_WRITTEN = ("hf", "openai")


class UnconfinedError(ModelError):
    """A model would write code that runs with rlimits alone, and the config does not allow it.

    A ModelError, so the CLI and the evaluation report it as they report a model that cannot
    be used here.
    """


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
        from core.agent.policies.openai import OpenAIPolicy

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
        from core.agent.policies.scored import ScoredPolicy

        return ScoredPolicy(loaded, cfg)
    from core.agent.policies.hf import GeneratePolicy

    return GeneratePolicy(loaded, cfg)


def _resolve(root: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else root / candidate
