"""Only the policy's own tokens count: tool and user turns inside a completion are masked."""

import pytest
import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer

from core.train.masking import MaskedDPOTrainer, add_policy_masks, masked_collator, policy_token_mask

from .conftest import trajectory_row


@pytest.fixture
def tokenizer(tiny_model):
    return AutoTokenizer.from_pretrained(tiny_model)


def test_mask_covers_assistant_turns_and_no_tool_output(tokenizer):
    row = trajectory_row()
    prompt_ids = tokenizer.apply_chat_template(
        row["prompt"], tokenize=True, return_dict=True, add_generation_prompt=True
    )["input_ids"]
    full = tokenizer.apply_chat_template(row["prompt"] + row["chosen"], tokenize=True, return_dict=True)[
        "input_ids"
    ]
    completion = full[len(prompt_ids) :]
    mask = policy_token_mask(tokenizer, row["prompt"], row["chosen"], [], len(prompt_ids), len(completion))

    kept = tokenizer.decode([t for t, m in zip(completion, mask, strict=True) if m])
    dropped = tokenizer.decode([t for t, m in zip(completion, mask, strict=True) if not m])
    assert "I will run_tests." in kept and "I will edit." in kept and '"new": "a + b"' in kept
    assert "1 failed" not in kept and "edited calc.py" not in kept and "all 3 tests passed" not in kept
    assert "1 failed" in dropped and "all 3 tests passed" in dropped
    assert "<|im_start|>tool" in dropped  # the template's headers are not the policy's either


def _trainer(trainer_cls, model_path, rows, tmp_path, precompute=False, batch_size=1, **extra):
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    torch.manual_seed(0)
    args = DPOConfig(
        output_dir=str(tmp_path),
        bf16=False,
        use_cpu=True,
        gradient_checkpointing=False,
        report_to=[],
        precompute_ref_log_probs=precompute,
        max_length=1024,
        per_device_train_batch_size=batch_size,
    )
    return trainer_cls(
        model=AutoModelForCausalLM.from_pretrained(model_path),
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"),
        **extra,
    )


def _chosen_logps(trainer_cls, model_path, row, tmp_path, **extra):
    trainer = _trainer(trainer_cls, model_path, [row], tmp_path, **extra)
    batch = trainer.data_collator([trainer.train_dataset[0]])
    with torch.no_grad():
        chosen, rejected = trainer.compute_ref_log_probs(trainer.model, batch)
    return chosen.item(), rejected.item()


def _masked(model_path, row, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    collator = masked_collator(tokenizer, 1024, "keep_start")
    return _chosen_logps(MaskedDPOTrainer, model_path, row, tmp_path, data_collator=collator)


def test_changing_a_tool_output_in_chosen_leaves_log_probs_unchanged(tiny_model, tmp_path):
    original = _masked(tiny_model, trajectory_row("all 3 tests passed"), tmp_path / "a")
    changed = _masked(tiny_model, trajectory_row("Traceback: something else entirely " * 5), tmp_path / "b")
    assert changed == pytest.approx(original, abs=1e-6)


def test_trl_alone_counts_the_tool_output(tiny_model, tmp_path):
    """The control: without the mask the same change moves the chosen log-probability."""
    original = _chosen_logps(DPOTrainer, tiny_model, trajectory_row("all 3 tests passed"), tmp_path / "a")
    changed = _chosen_logps(
        DPOTrainer, tiny_model, trajectory_row("Traceback: something else entirely " * 5), tmp_path / "b"
    )
    assert abs(changed[0] - original[0]) > 1e-3
    assert changed[1] == pytest.approx(original[1], abs=1e-6)


def test_masked_log_probs_are_a_part_of_trls(tiny_model, tmp_path):
    masked = _masked(tiny_model, trajectory_row(), tmp_path / "a")
    plain = _chosen_logps(DPOTrainer, tiny_model, trajectory_row(), tmp_path / "b")
    assert masked[0] > plain[0]  # fewer (negative) token log-probs summed


def test_decision_only_keeps_the_first_token_where_the_sides_part(tokenizer):
    prompt = [{"role": "user", "content": "fix calc.py"}]

    def turn(name, arguments):
        return [
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}],
            }
        ]

    example = {
        "prompt": prompt,
        "chosen": turn("run_tests", {}),
        "rejected": turn("edit", {"path": "calc.py"}),
    }
    prompt_ids = tokenizer.apply_chat_template(
        prompt, tokenize=True, return_dict=True, add_generation_prompt=True
    )
    for side in ("chosen", "rejected"):
        full = tokenizer.apply_chat_template(prompt + example[side], tokenize=True, return_dict=True)
        example[f"{side}_ids"] = full["input_ids"][len(prompt_ids["input_ids"]) :]
    example["prompt_ids"] = prompt_ids["input_ids"]

    every = add_policy_masks(example, tokenizer)
    decision = add_policy_masks(example, tokenizer, "decision")
    part = next(
        i
        for i, (a, b) in enumerate(zip(example["chosen_ids"], example["rejected_ids"], strict=False))
        if a != b
    )
    for side in ("chosen", "rejected"):
        assert sum(every[f"{side}_mask"]) > 3
        assert [i for i, m in enumerate(decision[f"{side}_mask"]) if m] == [part]
    assert tokenizer.decode(example["rejected_ids"][part]).strip().startswith("ed")


def test_reference_pass_runs_by_length_and_keeps_each_rows_own_log_probs(tiny_model, tmp_path):
    """The pass runs sorted by length; each row must still get the reference log-probs of its
    own sequences, as when it is computed alone."""
    outputs = ["all 3 tests passed", "Traceback: " + "x " * 200, "1 failed", "E " * 60, "ok"]
    rows = [trajectory_row(out, pair_id=i) for i, out in enumerate(outputs)]
    collator = masked_collator(AutoTokenizer.from_pretrained(tiny_model), 1024, "keep_start")
    trainer = _trainer(MaskedDPOTrainer, tiny_model, rows, tmp_path / "run", True, 2, data_collator=collator)
    stored = trainer.train_dataset
    assert stored["pair_id"] == list(range(len(rows)))
    for i in range(len(rows)):
        with torch.no_grad():
            alone = trainer.compute_ref_log_probs(trainer.model, trainer.data_collator([stored[i]]))
        assert stored[i]["ref_chosen_logps"] == pytest.approx(alone[0].item(), abs=1e-3)
        assert stored[i]["ref_rejected_logps"] == pytest.approx(alone[1].item(), abs=1e-3)
