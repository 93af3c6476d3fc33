"""The scored policy: a causal LM picks among admissible actions (constrained selection).

The environment offers real actions — list and read each file, search for the names in
the task, apply each candidate patch, run the tests, finish — plus tempting bad ones (a
file that does not exist, edits outside the allowed files). The model scores each action's
text by its mean token log-likelihood given the conversation, and the policy samples with a
temperature. The mean, not the sum: a summed log-likelihood makes an untrained model always
pick the shortest action (every rollout "finish" at step one). Weak models that cannot
follow the tool protocol still produce valid, varied behaviour, and DPO on the resulting
pairs moves their choices, because the scored text is exactly what DPO trains on.
"""

from __future__ import annotations

import copy
import math
import random
import re
from typing import Any

from core.agent.env import TaskEnv
from core.agent.model import LoadedModel
from core.agent.policy import Turn
from core.agent.tools import TOOL_SCHEMAS
from core.chat import assistant_message, conversation
from core.config import PolicyConfig
from core.schema import Step, ToolCall

MAX_FILES_OFFERED = 12
IDENTIFIER_RE = re.compile(r"`([A-Za-z_][\w.]*)`|\b(test_\w+)\b")


def admissible_actions(env: TaskEnv) -> list[ToolCall]:
    """Every action the policy may take in this environment, good and bad."""
    files = [f for f in env.files() if not f.startswith(".")][:MAX_FILES_OFFERED]
    actions = [ToolCall(name="list_files", arguments={"path": "."})]
    actions += [ToolCall(name="read_file", arguments={"path": f}) for f in files]
    actions.append(ToolCall(name="read_file", arguments={"path": _missing_path(files)}))
    terms = []
    for quoted, test_name in IDENTIFIER_RE.findall(env.task.instruction):
        term = quoted or test_name
        if term not in terms:
            terms.append(term)
    actions += [ToolCall(name="search", arguments={"query": t}) for t in terms[:2]]
    actions += [
        ToolCall(name="edit", arguments={"path": c.path, "old": c.old, "new": c.new})
        for c in env.task.candidates
    ]
    actions.append(ToolCall(name="run_tests", arguments={}))
    actions.append(ToolCall(name="finish", arguments={"message": "Done."}))
    return actions


def _missing_path(files: list[str]) -> str:
    """A plausible file that is not there: `utils.py` beside the first module."""
    folders = sorted({f.rsplit("/", 1)[0] for f in files if "/" in f and f.endswith(".py")})
    folder = next((d for d in folders if not d.startswith("tests")), "src")
    for name in ("utils.py", "core.py", "main.py", "compat.py"):
        if f"{folder}/{name}" not in files:
            return f"{folder}/{name}"
    return f"{folder}/missing_module.py"


class ScoredPolicy:
    def __init__(self, loaded: LoadedModel, cfg: PolicyConfig) -> None:
        self.loaded = loaded
        self.cfg = cfg
        self.label = f"scored:{loaded.label}"
        self.max_context = int(getattr(loaded.model.config, "max_position_embeddings", 4096)) - 256
        self.cache_argument = _cache_argument(loaded.model)

    def act(self, env: TaskEnv, steps: list[Step], rng: random.Random, temperature: float) -> Turn:
        actions = admissible_actions(env)
        context, texts = self._render(env.task.instruction, steps, actions)
        scores = self.score(context, texts)
        choice = _sample(scores, temperature, rng)
        return Turn(
            thought="", tool_call=actions[choice], tokens_in=len(context), tokens_out=len(texts[choice])
        )

    def _render(
        self, instruction: str, steps: list[Step], actions: list[ToolCall]
    ) -> tuple[list[int], list[list[int]]]:
        """Token ids of the context and of each action's completion, as the chat template renders them."""
        tokenizer = self.loaded.tokenizer
        shown = list(steps)
        while True:
            messages = conversation(instruction, shown, self.cfg.max_observation_chars)
            prefix = tokenizer.apply_chat_template(
                messages, tools=TOOL_SCHEMAS, tokenize=False, add_generation_prompt=True
            )
            context = tokenizer(prefix, add_special_tokens=False)["input_ids"]
            if len(context) <= self.max_context or not shown:
                break
            shown = shown[1:]  # the oldest steps go first when the context is full
        texts = []
        for action in actions:
            turn = Step(index=len(steps), tool_call=action)
            full = tokenizer.apply_chat_template(
                [*messages, assistant_message(turn)], tools=TOOL_SCHEMAS, tokenize=False
            )
            completion = full[_common_prefix(full, prefix) :]
            texts.append(tokenizer(completion, add_special_tokens=False)["input_ids"])
        return context, texts

    def score(self, context: list[int], texts: list[list[int]]) -> list[float]:
        """Mean log-probability of each text's tokens after the context.

        The context runs once; its KV cache is shared by every candidate. Candidates go in
        batches of similar length, so one long patch does not pad twenty short calls.
        """
        import torch

        model, device = self.loaded.model, self.loaded.device
        means = [0.0] * len(texts)
        with torch.no_grad():
            out = model(input_ids=torch.tensor([context], device=device), use_cache=True)
            first = out.logits[0, -1].float().log_softmax(-1)
            groups = _length_groups(texts)
            for number, group in enumerate(groups):
                cache = (
                    out.past_key_values if number == len(groups) - 1 else copy.deepcopy(out.past_key_values)
                )
                scores = self._score_batch(len(context), [texts[i] for i in group], first, cache)
                for index, value in zip(group, scores, strict=True):
                    means[index] = value
        return means

    def _score_batch(
        self, context_length: int, texts: list[list[int]], first: Any, cache: Any
    ) -> list[float]:
        import torch

        model, device = self.loaded.model, self.loaded.device
        width = max(len(t) for t in texts)
        pad = self.loaded.tokenizer.pad_token_id or 0
        ids = torch.tensor([t + [pad] * (width - len(t)) for t in texts], device=device)
        mask = torch.tensor([[1] * len(t) + [0] * (width - len(t)) for t in texts], device=device)
        cache.batch_repeat_interleave(len(texts))
        attention = torch.cat(
            [torch.ones(len(texts), context_length, device=device, dtype=mask.dtype), mask], 1
        )
        logits = model(input_ids=ids, attention_mask=attention, **{self.cache_argument: cache}).logits.float()
        token_logp = torch.zeros(ids.shape, device=device)
        token_logp[:, 0] = first[ids[:, 0]]
        if width > 1:
            token_logp[:, 1:] = logits[:, :-1].log_softmax(-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        return [float(v) for v in (token_logp * mask).sum(1) / mask.sum(1)]


def _length_groups(texts: list[list[int]]) -> list[list[int]]:
    """Indices of `texts` in groups whose longest is at most about twice the shortest."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    groups: list[list[int]] = []
    for index in order:
        if groups and len(texts[index]) <= 2 * len(texts[groups[-1][0]]) + 8:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _common_prefix(a: str, b: str) -> int:
    """Where a completion starts: after the generation prompt, for templates that render the
    prompt and the finished turn slightly differently (those that are consistent: all of it)."""
    if a.startswith(b):
        return len(b)
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _cache_argument(model: Any) -> str:
    """transformers 5 calls the KV cache argument `cache`; earlier versions `past_key_values`."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def _sample(scores: list[float], temperature: float, rng: random.Random) -> int:
    if temperature <= 0:
        return max(range(len(scores)), key=scores.__getitem__)
    top = max(scores)
    weights = [math.exp((s - top) / temperature) for s in scores]
    return rng.choices(range(len(scores)), weights=weights)[0]
