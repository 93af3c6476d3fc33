"""Loading a causal LM (and optionally a PEFT adapter) from a folder, on the right device.

The same function loads the demo's tiny model and a 7B one: only the path differs.
torch and transformers are imported here, lazily, never by the headless data steps.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ModelError(ValueError):
    """A model or adapter path that cannot be loaded, or a device that is not there."""


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    device: str
    label: str  # recorded as the rollouts' policy, e.g. "tiny" or "tiny+run-3"
    reference: Any = None  # the model without its adapter, where asked for (`load_model`)


def quiet_transformers() -> None:
    """No progress bars or advice from transformers in a CLI that draws its own progress."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    # transformers 5 renamed gradient checkpointing and warns on every model load; not the user's doing.
    warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*deprecated", category=FutureWarning)


def pick_device(requested: str = "auto", error: type[ValueError] = ModelError) -> tuple[str, bool]:
    """(device, bf16) for a model or a training run: `auto` is CUDA where torch sees a card, else
    the CPU; bf16 on a CUDA card that supports it, float32 elsewhere. Asking for `cuda` where there
    is none raises `error` (the caller's: a ModelError here, a TrainError for a run)."""
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise error("device 'cuda' was requested but torch sees no CUDA device on this machine")
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    return requested, requested == "cuda" and torch.cuda.is_bf16_supported()


def share_cpu(concurrency: int) -> None:
    """On the CPU, give each of `concurrency` rollouts in flight its share of the cores.

    torch's default intra-op pool is as wide as the machine; with rollouts already running in
    parallel, the pools oversubscribe the cores and their threads spin waiting for each other
    (measured on 2 cores, 2 rollouts in flight: 4x the CPU time per forward pass).
    """
    import os

    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, concurrency)))


def load_model(
    path: Path, adapter: Path | None = None, device: str = "auto", reference: bool = False
) -> LoadedModel:
    """The model at `path`, with `adapter` merged in; `reference` also keeps a copy without it
    (a second model in memory: the scored policy's `ratio` scoring compares the two)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    if not (path / "config.json").is_file():
        raise ModelError(
            f"no model at {path} (expected a folder written by save_pretrained, with config.json)"
        )
    chosen, bf16 = pick_device(device)
    dtype = torch.bfloat16 if bf16 else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.chat_template is None:
        raise ModelError(f"the tokenizer at {path} has no chat template: tool calls cannot be rendered")
    model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    model = model.to(chosen)
    label = path.name
    kept: Any = None
    if adapter is not None:
        if not (adapter / "adapter_config.json").is_file():
            raise ModelError(f"no PEFT adapter at {adapter} (expected adapter_config.json)")
        if reference:
            kept = copy.deepcopy(model).eval()  # merging below changes `model`'s own weights
        from peft import PeftModel

        # Merged for inference: the same outputs, without LoRA's extra matmuls at every layer.
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload().to(chosen)
        # A run's adapter lives in runs/<id>/adapter: name it after the run.
        label = f"{path.name}+{adapter.parent.name if adapter.name == 'adapter' else adapter.name}"
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, device=chosen, label=label, reference=kept)
