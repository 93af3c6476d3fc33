"""The `hf` policy: a local model generates one tool call per turn in its chat template's format.

Generation is seeded per step, so a rollout is reproducible from its seed. What the model
wrote is parsed by `core.agent.parse`; an unparseable turn is kept as a malformed step.
"""

from __future__ import annotations

import random

from core.agent.env import TaskEnv
from core.agent.model import LoadedModel
from core.agent.parse import parse_turn
from core.agent.policies.base import Turn
from core.agent.tools import TOOL_NAMES, TOOL_SCHEMAS
from core.chat import Rendering, conversation
from core.config import PolicyConfig
from core.schema import Step


class GeneratePolicy:
    def __init__(self, loaded: LoadedModel, cfg: PolicyConfig) -> None:
        self.loaded = loaded
        self.cfg = cfg
        self.label = f"hf:{loaded.label}"

    def act(self, env: TaskEnv, steps: list[Step], rng: random.Random, temperature: float) -> Turn:
        seed = rng.getrandbits(63)
        text, tokens_in, tokens_out = self.generate(env.task.instruction, steps, seed, temperature)
        parsed = parse_turn(text, TOOL_NAMES)
        if parsed.malformed:
            # The whole text is what the model said: keep it as the turn, for the flag and for DPO.
            return Turn(
                thought=text,
                tool_call=None,
                malformed=parsed.malformed,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
            )
        return Turn(
            thought=parsed.thought, tool_call=parsed.tool_call, tokens_in=tokens_in, tokens_out=tokens_out
        )

    def generate(
        self, instruction: str, steps: list[Step], seed: int, temperature: float
    ) -> tuple[str, int, int]:
        import torch

        tokenizer, model = self.loaded.tokenizer, self.loaded.model
        messages = conversation(instruction, steps, Rendering.of(self.cfg))
        ids = tokenizer.apply_chat_template(
            messages, tools=TOOL_SCHEMAS, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )["input_ids"].to(self.loaded.device)
        torch.manual_seed(seed)
        sampling = temperature > 0
        with torch.no_grad():
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=self.cfg.max_new_tokens,
                do_sample=sampling,
                temperature=temperature if sampling else None,
                top_p=None,
                top_k=None,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        new = out[0, ids.shape[1] :]
        text = tokenizer.decode(new, skip_special_tokens=False)
        for stop in (tokenizer.eos_token or "", tokenizer.pad_token or ""):
            if stop:
                text = text.split(stop, 1)[0]
        return text.strip(), int(ids.shape[1]), int(new.shape[0])
