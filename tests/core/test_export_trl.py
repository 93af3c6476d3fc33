"""The exported dataset is what TRL really accepts: load_dataset reads it, DPOTrainer trains on it."""

import json

import pytest

from core.export import preference_row
from core.granularity import Granularity
from core.schema import Observation, Rollout, Step, ToolCall
from core.tiny_model import build_tiny_model


def rollout(rid, calls):
    steps = [
        Step(
            index=i,
            thought=f"thinking {i}",
            tool_call=ToolCall(name=n, arguments=a),
            observation=Observation(content=o),
        )
        for i, (n, a, o) in enumerate(calls)
    ]
    return Rollout(id=rid, task_id="t", steps=steps)


def rows(granularity):
    out = []
    for k in range(4):
        shared = [
            ("read_file", {"path": f"m{k}.py"}, "def f():\n    return 1"),
            ("run_tests", {}, "1 failed"),
        ]
        good = rollout(
            "g",
            [
                *shared,
                ("edit", {"path": f"m{k}.py", "old": "1", "new": "2"}, "ok"),
                ("run_tests", {}, "1 passed"),
                ("finish", {}, ""),
            ],
        )
        bad = rollout("b", [*shared, ("bash", {"command": "echo hi > README.md"}, ""), ("finish", {}, "")])
        out.append(preference_row(good, bad, granularity, instruction="Fix the failing test."))
    return out


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    corpus = [json.dumps(r) for r in rows(Granularity.TRAJECTORY)] * 3
    return build_tiny_model(tmp_path_factory.mktemp("model"), corpus, vocab_size=400)


@pytest.mark.parametrize("granularity", list(Granularity))
def test_dpo_trainer_accepts_the_export(tmp_path, tiny_model, granularity):
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    data = tmp_path / "prefs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows(granularity)))
    dataset = load_dataset("json", data_files=str(data), split="train")
    assert set(dataset.column_names) >= {"prompt", "chosen", "rejected", "tools"}

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    args = DPOConfig(
        output_dir=str(tmp_path / "run"),
        max_steps=2,
        per_device_train_batch_size=2,
        bf16=False,
        gradient_checkpointing=False,
        report_to=[],
        logging_steps=1,
        save_strategy="no",
        use_cpu=True,
    )
    trainer = DPOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
    )
    result = trainer.train()
    assert result.global_step == 2
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert logged and all("rewards/accuracies" in entry for entry in logged)
