"""One DPO run: TRL's DPOTrainer with a PEFT LoRA adapter, reporting through hooks.

The reference model is the base with the adapter disabled (TRL does this when given a
`peft_config` and no `ref_model`), so a run holds one copy of the weights. The run knows
nothing of the database: the caller's hooks receive every logged metric, each step and the
stages before training, and tell the run when to stop. Stopping saves a checkpoint first,
so `resume` continues from the step where the run was cancelled.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import TrainConfig

TRAIN_FILE, VALIDATION_FILE = "train.jsonl", "validation.jsonl"
ADAPTER_DIR, CHECKPOINT_DIR = "adapter", "checkpoints"


class TrainError(ValueError):
    """A run that cannot start: no data, no model, no device."""


@dataclass
class RunHooks:
    on_stage: Callable[[str], None] = lambda stage: None
    on_log: Callable[[int, float | None, str, dict[str, float]], None] = lambda step, epoch, split, logs: None
    on_step: Callable[[int, int], None] = lambda step, max_steps: None
    stop_requested: Callable[[], bool] = lambda: False


@dataclass
class RunSpec:
    run_id: str
    out_dir: Path  # holds train.jsonl, validation.jsonl; gets checkpoints/ and adapter/
    base_model: Path
    settings: TrainConfig
    resume: bool = False
    dataset_counts: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunOutcome:
    cancelled: bool
    global_step: int
    max_steps: int
    adapter_dir: Path | None = None
    final_metrics: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def liger_available() -> bool:
    try:
        import liger_kernel  # noqa: F401
    except ImportError:
        return False
    return True


def speed_options(settings: TrainConfig, device: str, bf16: bool) -> dict[str, Any]:
    """The speed features this run uses, recorded with the run."""
    if settings.liger == "on" and not liger_available():
        raise TrainError(
            "liger = 'on' but the liger-kernel package is not installed (pip install liger-kernel)"
        )
    liger = settings.liger == "on" or (settings.liger == "auto" and device == "cuda" and liger_available())
    return {
        "device": device,
        "bf16": bf16,
        "precompute_ref_log_probs": settings.precompute_ref_log_probs,
        "liger": liger,
        "gradient_checkpointing": settings.gradient_checkpointing,
    }


def last_checkpoint(out_dir: Path) -> Path | None:
    folder = out_dir / CHECKPOINT_DIR
    found = sorted(
        folder.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]) if p.name[11:].isdigit() else -1
    )
    return found[-1] if found else None


def _reporter(hooks: RunHooks) -> Any:
    from transformers import TrainerCallback

    class Reporter(TrainerCallback):  # type: ignore[misc]
        """Metrics and steps to the hooks; a stop request ends the run after saving."""

        cancelled = False

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if not state.is_world_process_zero or not logs:
                return
            split = "eval" if any(k.startswith("eval_") for k in logs) else "train"
            metrics = {k.removeprefix("eval_"): v for k, v in logs.items()}
            hooks.on_log(state.global_step, state.epoch, split, metrics)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                hooks.on_step(state.global_step, state.max_steps)
            if _agreed_stop(hooks.stop_requested()):
                self.cancelled = True
                control.should_save = True
                control.should_training_stop = True

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.cancelled:  # stop means stop: no validation pass on the way out
                control.should_evaluate = False

    return Reporter()


def process_rank() -> tuple[int, int]:
    """This process's rank and the number of processes (`accelerate launch` sets both)."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def _agreed_stop(requested: bool) -> bool:
    """Under several processes the main one decides for all, or the others would hang in NCCL."""
    from accelerate import PartialState

    state = PartialState()
    if state.num_processes <= 1:
        return requested
    from accelerate.utils import broadcast_object_list

    flag = [requested]
    broadcast_object_list(flag, from_process=0)
    return bool(flag[0])


def _dpo_config(spec: RunSpec, options: dict[str, Any], has_validation: bool) -> Any:
    from trl import DPOConfig

    s = spec.settings
    return DPOConfig(
        output_dir=str(spec.out_dir / CHECKPOINT_DIR),
        num_train_epochs=s.epochs,
        max_steps=s.max_steps,
        learning_rate=s.learning_rate,
        beta=s.beta,
        # An NLL term on the chosen side keeps DPO from lowering both sides' likelihoods at once.
        loss_type=[s.loss_type, "sft"] if s.sft_weight > 0 else [s.loss_type],
        loss_weights=[1.0, s.sft_weight] if s.sft_weight > 0 else None,
        per_device_train_batch_size=s.batch_size,
        per_device_eval_batch_size=s.batch_size,
        gradient_accumulation_steps=s.gradient_accumulation_steps,
        max_length=s.max_length,
        truncation_mode=s.truncation_mode,
        warmup_steps=s.warmup_ratio,  # transformers 5: a float below 1 is a fraction of the steps
        bf16=options["bf16"],
        use_cpu=options["device"] == "cpu",
        gradient_checkpointing=s.gradient_checkpointing,
        precompute_ref_log_probs=s.precompute_ref_log_probs,
        use_liger_kernel=options["liger"],
        seed=s.seed,
        data_seed=s.seed,
        logging_steps=s.logging_steps,
        save_strategy="steps",
        save_steps=s.save_steps,
        save_total_limit=s.save_total_limit,
        eval_strategy="epoch" if has_validation else "no",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
    )


def _load_split(path: Path, cache: Path) -> Any:
    from datasets import load_dataset

    if not path.exists() or path.stat().st_size == 0:
        return None
    return load_dataset("json", data_files=str(path), split="train", cache_dir=str(cache))


LOSS_TOKENS_MEANING = {
    "action": "every token the policy wrote",
    "decision": "the first token where the sides part",
    "lesson": "the first token where the sides part for lessons of timing, every token for the rest",
}


def run_training(spec: RunSpec, hooks: RunHooks) -> RunOutcome:
    import datasets
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, set_seed

    from core.agent.model import pick_device, quiet_transformers
    from core.allocator import keep_freed_memory
    from core.train.masking import MaskedDPOTrainer, masked_collator

    quiet_transformers()
    keep_freed_memory()
    # transformers 5 renamed gradient checkpointing; TRL still passes the old name on each step.
    warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*deprecated", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*truncation mode is deprecated", category=FutureWarning)
    datasets.disable_progress_bars()
    os.environ.setdefault("TQDM_DISABLE", "1")
    s = spec.settings
    device, bf16 = pick_device(s.device, TrainError)
    options = speed_options(s, device, bf16)
    set_seed(s.seed)

    hooks.on_stage("loading model")
    tokenizer = AutoTokenizer.from_pretrained(spec.base_model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(
        spec.base_model, dtype=torch.bfloat16 if bf16 else torch.float32
    )
    model.config.pad_token_id = tokenizer.pad_token_id

    hooks.on_stage("tokenizing")
    cache = spec.out_dir / "cache"
    train_set = _load_split(spec.out_dir / TRAIN_FILE, cache)
    validation_set = _load_split(spec.out_dir / VALIDATION_FILE, cache)
    if train_set is None:
        raise TrainError(f"no training pairs in {spec.out_dir / TRAIN_FILE}")
    args = _dpo_config(spec, options, validation_set is not None)
    peft_config = LoraConfig(
        r=s.lora_r,
        lora_alpha=s.lora_alpha,
        lora_dropout=s.lora_dropout,
        target_modules=s.target_modules,
        task_type="CAUSAL_LM",
    )
    reporter = _reporter(hooks)
    if s.precompute_ref_log_probs:
        hooks.on_stage("reference log-probs")
    trainer = MaskedDPOTrainer(
        model=model,
        args=args,
        data_collator=masked_collator(tokenizer, s.max_length, s.truncation_mode),
        train_dataset=train_set,
        eval_dataset=validation_set,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[reporter],
        loss_tokens=s.loss_tokens,
    )
    trainer.remove_callback(PrinterCallback)  # the hooks report; no dicts printed to stdout
    if hooks.stop_requested():
        return RunOutcome(cancelled=True, global_step=0, max_steps=0, options=options)

    hooks.on_stage("training")
    checkpoint = last_checkpoint(spec.out_dir) if spec.resume else None
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    state = trainer.state
    if reporter.cancelled:
        return RunOutcome(
            cancelled=True, global_step=state.global_step, max_steps=state.max_steps, options=options
        )

    final = {k: float(v) for k, v in result.metrics.items() if isinstance(v, int | float)}
    if validation_set is not None:
        evaluated = _last_eval(state.log_history, state.global_step)
        if evaluated is None:  # the per-epoch evaluation did not land on the last step
            hooks.on_stage("validating")
            evaluated = trainer.evaluate()
        final.update({k: float(v) for k, v in evaluated.items() if isinstance(v, int | float)})

    hooks.on_stage("saving")
    adapter_dir = spec.out_dir / ADAPTER_DIR
    trainer.model.save_pretrained(adapter_dir)  # type: ignore[union-attr,operator]
    tokenizer.save_pretrained(adapter_dir)
    outcome = RunOutcome(
        cancelled=False,
        global_step=state.global_step,
        max_steps=state.max_steps,
        adapter_dir=adapter_dir,
        final_metrics=final,
        options=options,
    )
    write_outputs(spec, outcome, trainer.state.log_history)
    return outcome


def _last_eval(history: list[dict[str, Any]], step: int) -> dict[str, Any] | None:
    for entry in reversed(history):
        if "eval_loss" in entry:
            return entry if entry.get("step") == step else None
    return None


def write_outputs(spec: RunSpec, outcome: RunOutcome, log_history: list[dict[str, Any]]) -> None:
    """The run's config, its metrics and a model card, next to the adapter."""
    config = {
        "run_id": spec.run_id,
        "base_model": str(spec.base_model),
        "settings": spec.settings.model_dump(),
        "options": outcome.options,
        "dataset": spec.dataset_counts,
    }
    (spec.out_dir / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    metrics = {"final": outcome.final_metrics, "log_history": log_history}
    (spec.out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    if outcome.adapter_dir is not None:
        (outcome.adapter_dir / "README.md").write_text(model_card(spec, outcome), encoding="utf-8")


def model_card(spec: RunSpec, outcome: RunOutcome) -> str:
    s = spec.settings
    f = outcome.final_metrics
    counts = spec.dataset_counts

    def metric(name: str) -> str:
        return f"{f[name]:.4f}" if name in f else "n/a"

    return f"""---
library_name: peft
base_model: {spec.base_model}
tags: [dpo, lora, trl, agentpref]
---
# {spec.run_id}: a LoRA adapter trained with DPO on coding-agent behaviour

Trained by agentpref-tui on (chosen, rejected) pairs of agent rollouts, mined from automatic
behaviour checks and confirmed by people (or accepted automatically: see the counts).

- Base model: `{spec.base_model}`
- Granularity: {s.granularity} (at trajectory granularity tool and user turns are masked out of the loss)
- Pairs: {counts.get("train_pairs", "?")} train, {counts.get("validation_pairs", "?")} validation
  (split by task: {counts.get("train_tasks", "?")} / {counts.get("validation_tasks", "?")} tasks);
  {counts.get("human", 0)} human-confirmed, {counts.get("auto", 0)} automatic
- DPO: beta {s.beta}, loss {s.loss_type} (+ {s.sft_weight} x NLL of the chosen side),
  loss tokens: {s.loss_tokens} ({LOSS_TOKENS_MEANING[s.loss_tokens]}),
  learning rate {s.learning_rate}, epochs {s.epochs},
  batch {s.batch_size} x {s.gradient_accumulation_steps}, max length {s.max_length}, seed {s.seed}
- LoRA: r {s.lora_r}, alpha {s.lora_alpha}, dropout {s.lora_dropout}, target modules {s.target_modules}
- Steps: {outcome.global_step}; device {outcome.options.get("device")}, bf16 {outcome.options.get("bf16")},
  precomputed reference log-probs {outcome.options.get("precompute_ref_log_probs")},
  Liger kernels {outcome.options.get("liger")}

## Validation (held-out tasks)
| metric | value |
|---|---|
| rewards/accuracies | {metric("eval_rewards/accuracies")} |
| rewards/margins | {metric("eval_rewards/margins")} |
| loss | {metric("eval_loss")} |

Whether the adapter reduces failure modes is what `agentpref-tui eval` measures on held-out
tasks; validation accuracy alone says only that the preferences were learnt.

## Use
```python
from peft import PeftModel
from transformers import AutoModelForCausalLM
base = AutoModelForCausalLM.from_pretrained("{spec.base_model}")
model = PeftModel.from_pretrained(base, "{outcome.adapter_dir}")
```
Served with vLLM:
`vllm serve {spec.base_model} --enable-lora --lora-modules {spec.run_id}={outcome.adapter_dir}`
"""
