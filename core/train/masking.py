"""Keep tool and user turns out of the DPO loss (TRL issue 2810).

TRL's preference collator counts every completion token. At trajectory granularity a
completion holds the rest of the rollout: assistant turns, and the tool outputs and harness
messages between them. The policy never wrote those, so their log-probabilities must not
move the loss: training on them teaches the model to predict test logs, and a chosen side
with a long, lucky tool output would look "preferred" for reasons the policy cannot control.

Each example gets a mask per side (1 for a token the policy wrote: an assistant turn after its
generation header, up to and including its end-of-turn) and the collator multiplies TRL's
completion mask by it. Boundaries come from rendering growing prefixes of the conversation
with the same chat template TRL uses, so they are exact for any prefix-consistent template
and conservative (fewer tokens counted) where a template re-renders earlier turns.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from trl import DPOTrainer
from trl.trainer.dpo_trainer import DataCollatorForPreference

from core.pairs import TIMING_LESSONS
from core.prefix import shared_prefix
from core.train.batching import LengthBucketSampler

MASK_COLUMNS = ("chosen_mask", "rejected_mask")


def _ids(tokenizer: Any, messages: list[dict[str, Any]], tools: Any, generation_prompt: bool) -> list[int]:
    rendered = tokenizer.apply_chat_template(
        messages, tools=tools, tokenize=True, return_dict=True, add_generation_prompt=generation_prompt
    )
    return list(rendered["input_ids"])


def policy_token_mask(
    tokenizer: Any,
    prompt: list[dict[str, Any]],
    completion: list[dict[str, Any]],
    tools: Any,
    prompt_len: int,
    completion_len: int,
) -> list[int]:
    """1 for each completion token the policy wrote, 0 for tool/user turns and turn headers.

    `prompt_len` and `completion_len` are the lengths TRL tokenized (its prompt/completion split
    of the full sequence); the mask is aligned to its completion tokens.
    """
    full = _ids(tokenizer, prompt + completion, tools, generation_prompt=False)
    mask = [0] * completion_len
    for k, message in enumerate(completion):
        if message.get("role") != "assistant":
            continue
        before = _ids(tokenizer, prompt + completion[:k], tools, generation_prompt=True)
        through = _ids(tokenizer, prompt + completion[: k + 1], tools, generation_prompt=False)
        start, end = len(before), shared_prefix(through, full)  # a re-rendered prefix counts fewer tokens
        for position in range(max(start, prompt_len), min(end, prompt_len + completion_len)):
            mask[position - prompt_len] = 1
    return mask


def add_policy_masks(example: dict[str, Any], tokenizer: Any, loss_tokens: str = "action") -> dict[str, Any]:
    """`datasets.map` function: a policy-token mask for each side of a tokenized example.

    `loss_tokens = "decision"` keeps, of each side, only the first token where the two sides
    part (when the policy wrote it): the choice itself; "lesson" does so for rows whose lessons
    are all of timing (`core.pairs.TIMING_LESSONS`) and counts the whole action for the rest.
    The tokens before it are the same on both sides and cancel in the loss anyway; the tokens
    after it are what the choice entailed (the rest of a patch, a file name) and, counted,
    would teach against the whole action: a right fix rejected for being untested would also
    be taught as the wrong patch.
    """
    tools = example.get("tools")
    tools = json.loads(tools) if isinstance(tools, str) else tools
    prompt_len = len(example["prompt_ids"])
    masks = {
        side: policy_token_mask(
            tokenizer, example["prompt"], example[side], tools, prompt_len, len(example[f"{side}_ids"])
        )
        for side in ("chosen", "rejected")
    }
    lessons = set(example.get("lessons") or ())
    if loss_tokens == "decision" or (loss_tokens == "lesson" and lessons and lessons <= TIMING_LESSONS):
        part = shared_prefix(example["chosen_ids"], example["rejected_ids"])
        masks = {side: [m if i == part else 0 for i, m in enumerate(mask)] for side, mask in masks.items()}
    return {f"{side}_mask": mask for side, mask in masks.items()}


class PolicyMaskCollator(DataCollatorForPreference):
    """TRL's collator, with tool and user tokens taken out of the completion mask."""

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        output = super().torch_call(examples)
        completion_mask = output["completion_mask"]
        policy = torch.zeros_like(completion_mask)
        rows = [("chosen", e) for e in examples] + [("rejected", e) for e in examples]
        for row, (side, example) in enumerate(rows):
            completion = example.get(f"{side}_mask") or [1] * len(example[f"{side}_ids"])  # none: TRL's
            mask = [0] * len(example["prompt_ids"]) + list(completion)
            if self.max_length is not None:
                cut = (
                    slice(None, self.max_length)
                    if self.truncation_mode == "keep_start"
                    else slice(-self.max_length, None)
                )
                mask = mask[cut]
            width = min(len(mask), policy.size(1))
            policy[row, :width] = torch.tensor(mask[:width], dtype=policy.dtype)
        output["completion_mask"] = completion_mask * policy
        return output


def padded_lengths(dataset: Any) -> list[int]:
    """Each example's width in a batch: the prompt and the longer of its two completions."""
    return [
        len(p) + max(len(c), len(r))
        for p, c, r in zip(dataset["prompt_ids"], dataset["chosen_ids"], dataset["rejected_ids"], strict=True)
    ]


def masked_collator(tokenizer: Any, max_length: int | None, truncation_mode: str) -> PolicyMaskCollator:
    """The collator to pass to `MaskedDPOTrainer` (TRL builds its own plain one otherwise)."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return PolicyMaskCollator(pad_token_id=pad, max_length=max_length, truncation_mode=truncation_mode)


class MaskedDPOTrainer(DPOTrainer):
    """DPOTrainer whose loss sees only the policy's own tokens (see the module docstring), of
    them only the choice where `loss_tokens` says so (`add_policy_masks`)."""

    def __init__(self, *args: Any, loss_tokens: str = "action", **kwargs: Any) -> None:
        self.loss_tokens = loss_tokens  # read by _prepare_dataset, which the parent calls
        super().__init__(*args, **kwargs)

    def _prepare_dataset(self, dataset: Any, processing_class: Any, args: Any, dataset_name: str) -> Any:
        dataset = super()._prepare_dataset(dataset, processing_class, args, dataset_name)
        return dataset.map(
            add_policy_masks,
            fn_kwargs={"tokenizer": processing_class, "loss_tokens": self.loss_tokens},
            desc=f"Masking tool turns in {dataset_name} dataset",
        )

    def _get_train_sampler(self, train_dataset: Any = None) -> Any:
        """Batches of similar length (`core.train.batching`): padding, not the model, was most
        of a CPU run."""
        dataset: Any = train_dataset if train_dataset is not None else self.train_dataset
        batch = self.args.train_batch_size * self.args.gradient_accumulation_steps
        return LengthBucketSampler(padded_lengths(dataset), batch, seed=self.args.seed)

    def _get_eval_sampler(self, eval_dataset: Any) -> Any:
        """The validation pairs in order of length: the loss is a mean, so the order changes
        nothing but the padding."""
        return sorted(range(len(eval_dataset)), key=padded_lengths(eval_dataset).__getitem__)

    def _precompute_ref_logps(self, dataset: Any, name: str, batch_size: int) -> Any:
        """TRL's pass over the data in order of length, the result in the data's own order.

        TRL batches the reference pass in dataset order, so most batches were padded to one
        long prompt: the pass took as long as an epoch of training (21 of the demo's 117 s)."""
        lengths = padded_lengths(dataset)
        order = sorted(range(len(dataset)), key=lengths.__getitem__)
        position = {index: rank for rank, index in enumerate(order)}
        by_length = dataset.select(order).flatten_indices()
        computed = super()._precompute_ref_logps(by_length, name, batch_size)
        return computed.select([position[i] for i in range(len(dataset))]).flatten_indices()

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        if self._signature_columns is not None:
            self._signature_columns = [*self._signature_columns, *MASK_COLUMNS]
