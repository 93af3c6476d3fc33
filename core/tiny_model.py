"""A tiny causal LM and tokenizer built offline, saved exactly like a downloaded model.

The demo and the tests need a real model without a network: a byte-level BPE tokenizer is
trained locally on the texts it will see, a small Qwen2 is built from a config with a fixed
seed, and both are written with `save_pretrained`. Every later step loads them from the
folder, the same code path that loads a 7B model.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenizers import Tokenizer

SPECIAL_TOKENS = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"]

# Hermes/Qwen style: tools in the system turn, calls as <tool_call>{json}</tool_call>, tool
# results in their own turn. Arguments may be a JSON string (OpenAI style) or a mapping.
CHAT_TEMPLATE = (
    "{% if tools %}<|im_start|>system\nTools:\n{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}"
    "<|im_end|>\n{% endif %}"
    "{% for message in messages %}"
    "{% if message.role == 'assistant' %}<|im_start|>assistant\n"
    "{% if message.content %}{{ message.content }}{% endif %}"
    "{% if message.tool_calls %}{% for call in message.tool_calls %}<tool_call>"
    '{"name": "{{ call.function.name }}", "arguments": '
    "{% if call.function.arguments is string %}{{ call.function.arguments }}"
    "{% else %}{{ call.function.arguments | tojson }}{% endif %}}</tool_call>{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% else %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def train_tokenizer(corpus: Iterable[str], vocab_size: int = 2000) -> Tokenizer:
    """A byte-level BPE `tokenizers.Tokenizer` trained on `corpus`, silently: the library's own
    progress bars would draw over the caller's (`init --demo`)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    return tokenizer


def build_tiny_model(
    out_dir: Path,
    corpus: Iterable[str],
    seed: int = 0,
    vocab_size: int = 2000,
    hidden_size: int = 64,
    layers: int = 2,
    attention_window: int | None = None,
) -> Path:
    """Train a tokenizer on `corpus`, build a seeded tiny Qwen2, save both into `out_dir`.

    `attention_window`: every layer attends to that many tokens back only (Qwen2's sliding window).
    A random model's attention is close to uniform, so over a prompt of a thousand tokens it
    sees an average of everything and cannot tell one state from another; within a window it
    sees the last observation and its state note, and DPO can teach it when to act as well as
    what (README, "The demo's own result"; `bench/state_probe.py`).
    """
    import torch
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    from core.agent.model import quiet_transformers

    quiet_transformers()

    fast = PreTrainedTokenizerFast(
        tokenizer_object=train_tokenizer(corpus, vocab_size),
        eos_token="<|im_end|>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=["<|im_start|>", "<tool_call>", "</tool_call>"],
    )
    fast.chat_template = CHAT_TEMPLATE

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(fast),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        pad_token_id=fast.pad_token_id,
        eos_token_id=fast.eos_token_id,
        bos_token_id=None,
        use_sliding_window=attention_window is not None,
        sliding_window=attention_window,
        max_window_layers=0,  # the window from the first layer on
    )
    model = Qwen2ForCausalLM(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    fast.save_pretrained(out_dir)
    return out_dir
