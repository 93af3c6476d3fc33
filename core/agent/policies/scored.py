"""The scored policy: a causal LM picks among admissible actions (constrained selection).

The environment offers real actions — list and read each file, search for the names in
the task, apply each candidate patch, run the tests, finish — plus tempting bad ones (a
file that does not exist, edits outside the allowed files). The model scores each action's
text by its mean token log-likelihood given the conversation, and the policy samples with a
temperature. The mean, not the sum: a summed log-likelihood makes an untrained model always
pick the shortest action (every rollout "finish" at step one). And the mean only over the
tokens that tell the actions apart: the tool-call wrapper every action shares (`{"name": "`
... `"}}` and the end of turn) is left out, because DPO moves those shared tokens for every
action alike, and averaged over each action's own length such a shared shift would turn into
a preference for short (or long) actions. Weak models that cannot
follow the tool protocol still produce valid, varied behaviour, and DPO on the resulting
pairs moves their choices, because the scored text is exactly what DPO trains on.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
import threading
from typing import Any

from core.agent.env import TaskEnv
from core.agent.model import LoadedModel, ModelError
from core.agent.policies.base import Turn, call_key
from core.agent.tools import TOOL_SCHEMAS
from core.chat import Rendering, assistant_message, conversation
from core.config import PolicyConfig
from core.remedies import Remedy
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
    """Scores every admissible action after the conversation, cheaply enough for the demo's
    128 rollouts on 2 CPU cores (measured with `bench/scored_step.py`).

    Almost all of a step's cost is attention: of the context's tokens, and of every action's
    tokens over the context. So each is done once, and only where a score needs it:

    - A rollout's context grows by a turn per step, and its token ids begin with the last
      step's: the KV caches of recent contexts are kept and only the new tokens run.
    - The actions run together as a token tree in one row: tokens that several actions begin
      with (the tool-call wrapper, `read_file` and its argument name, ...) run once; positions
      follow each action's own, and an attention mask shows each row the context and its
      ancestors only. The shared suffix, which `distinguishing_means` leaves out, and each
      action's last counted token (it predicts nothing counted) do not run at all. No padding,
      and no copy of the context's KV cache per action, as batching the actions would need.
    - An assistant turn renders the same after any conversation with templates like the demo's
      and Qwen's, so each action's completion ids are kept; every step renders one action in
      full and checks it, and a template for which it differs gets every action rendered in full.

    The scores are those of each action in its own full forward pass, up to float noise
    (tests/core/agent/test_scored_speed.py).
    """

    def __init__(self, loaded: LoadedModel, cfg: PolicyConfig) -> None:
        self.loaded = loaded
        self.cfg = cfg
        self.label = f"scored:{loaded.label}"
        self.max_context = int(getattr(loaded.model.config, "max_position_embeddings", 4096)) - 256
        self.cache_argument = _cache_argument(loaded.model)
        self.window = _attention_window(loaded.model)
        attention = getattr(loaded.model.config, "_attn_implementation", None) or "sdpa"
        if attention not in ("sdpa", "eager"):  # flash attention ignores a 4D mask: no tree
            raise ModelError(f"the scored policy needs sdpa or eager attention, not {attention}")
        self._lock = threading.Lock()
        # Per model (by id): (context ids, its KV cache, its last position's logits), most recent
        # last; never mutated
        self._contexts: dict[int, list[tuple[list[int], Any, Any]]] = {}
        self._kept_contexts = cfg.concurrency + 1  # the last context of each rollout in flight
        # Each action's completion ids (`_action_key`); None for a template whose turns depend on
        # the conversation.
        self._completions: dict[tuple[str, str], list[int]] | None = {}

    def act(self, env: TaskEnv, steps: list[Step], rng: random.Random, temperature: float) -> Turn:
        actions = admissible_actions(env)
        context, texts = self._render(env.task.instruction, steps, actions)
        scores = self.score(context, texts, temperature)
        choice = _sample(scores, self._sampling_temperature(temperature), rng)
        return Turn(
            thought="", tool_call=actions[choice], tokens_in=len(context), tokens_out=len(texts[choice])
        )

    def alternatives(
        self,
        env: TaskEnv,
        steps: list[Step],
        rng: random.Random,
        temperature: float,
        n: int,
        excluded: set[str],
        remedy: Remedy | None = None,
    ) -> list[Turn]:
        """Up to `n` different admissible actions other than `excluded` (keys from `call_key`),
        drawn without replacement at `temperature` (Gumbel top-k: the same law as sampling one,
        removing it, and sampling again). Where `remedy` is given, the first is the remedy the
        policy would draw first, if any action is one."""
        actions = admissible_actions(env)
        context, texts = self._render(env.task.instruction, steps, actions)
        scores = self.score(context, texts, temperature)
        temperature = self._sampling_temperature(temperature)
        keyed = [
            (s / temperature if temperature > 0 else s)
            - (math.log(-math.log(rng.random() or 1e-12)) if temperature > 0 else 0.0)
            for s in scores
        ]
        order = [
            i
            for i in sorted(range(len(actions)), key=lambda i: -keyed[i])
            if call_key(actions[i]) not in excluded
        ]
        first = next((i for i in order if remedy is not None and remedy(actions[i])), None)
        picked = ([first] if first is not None else []) + [i for i in order if i != first]
        picked = picked[:n]
        return [
            Turn(thought="", tool_call=actions[i], tokens_in=len(context), tokens_out=len(texts[i]))
            for i in picked
        ]

    def _sampling_temperature(self, temperature: float) -> float:
        """`ratio` scores are already tempered: sample them as they are."""
        return temperature if self.cfg.scoring == "mean" or temperature <= 0 else 1.0

    def _render(
        self, instruction: str, steps: list[Step], actions: list[ToolCall]
    ) -> tuple[list[int], list[list[int]]]:
        """Token ids of the context and of each action's completion, as the chat template renders them."""
        tokenizer = self.loaded.tokenizer
        first = 0
        while True:
            messages = conversation(instruction, steps, Rendering.of(self.cfg), first)
            prefix = tokenizer.apply_chat_template(
                messages, tools=TOOL_SCHEMAS, tokenize=False, add_generation_prompt=True
            )
            context = tokenizer(prefix, add_special_tokens=False)["input_ids"]
            if len(context) <= self.max_context or first >= len(steps):
                break
            first += 1  # the oldest steps go first when the context is full

        def completion(action: ToolCall) -> list[int]:
            turn = Step(index=len(steps), tool_call=action)
            full = tokenizer.apply_chat_template(
                [*messages, assistant_message(turn)], tools=TOOL_SCHEMAS, tokenize=False
            )
            return tokenizer(full[_common_prefix(full, prefix) :], add_special_tokens=False)["input_ids"]

        kept = self._completions
        if kept is not None and actions:
            checked = completion(actions[0])
            if kept.setdefault(_action_key(actions[0]), checked) != checked:
                kept = self._completions = None  # this template renders a turn after its conversation
            elif len(kept) > 10_000:
                kept.clear()
        if kept is None:
            return context, [completion(a) for a in actions]
        texts = []
        for action in actions:
            text = kept.get(_action_key(action))
            if text is None:
                text = kept[_action_key(action)] = completion(action)
            texts.append(text)
        return context, texts

    def score(self, context: list[int], texts: list[list[int]], temperature: float = 1.0) -> list[float]:
        """Each text's score after the context: the sampling logits of the policy's choice.

        `[policy] scoring = "ratio"` (default): the base model's mean score (below) over
        `temperature`, plus, with an adapter, what the adapter changed where the actions part (the
        log-ratio of adapted to base at each token where they part, `_TokenTree.decoding_logps`)
        over `[policy] adapter_temperature` (0: over `temperature` too); sampled as they are.
        Each such token's log-probability is taken over the whole vocabulary (`adapter_ratio`),
        not over the tokens that continue some action: renormalised among those, an action whose
        tokens DPO never moved lost share wherever another kind rose, and the demo's tuned model,
        whose pairs chose reads and test runs over many kinds and an edit over almost none, stopped
        editing (README, "The demo's own result"). At the
        demo's temperatures (0.01-0.03) a ratio divided by the same temperature is the only thing
        that counts: the tuned policy then takes its favourite action at every step, whatever
        the state, and loops. "mean": the mean score of the model as loaded, sampled at
        `temperature`.

        The mean score is the mean log-probability of a text's distinguishing tokens
        (`distinguishing_means`). Each model takes two forward passes: the context's new tokens,
        then every text at once as a token tree in one row.
        """
        if not texts:
            return []
        tree = _TokenTree(texts)
        policy = self._tree_logits(self.loaded.model, context, tree)
        reference = self.loaded.reference
        if self.cfg.scoring == "mean" or reference is None:
            means = tree.means(*policy)
            return means if self.cfg.scoring == "mean" else [m / max(temperature, 1e-4) for m in means]
        base = self._tree_logits(reference, context, tree)
        whole = self.cfg.adapter_ratio == "vocabulary"
        ratio = [
            p - b
            for p, b in zip(
                tree.decoding_logps(*policy, whole), tree.decoding_logps(*base, whole), strict=True
            )
        ]
        adapter_temperature = max(self.cfg.adapter_temperature or temperature, 1e-4)
        return [
            m / max(temperature, 1e-4) + r / adapter_temperature
            for m, r in zip(tree.means(*base), ratio, strict=True)
        ]

    def _tree_logits(self, model: Any, context: list[int], tree: _TokenTree) -> tuple[Any, Any]:
        """The context's last logits and the tree's rows' logits under `model`."""
        import torch

        device = self.loaded.device
        with torch.no_grad():
            cache, last = self._context_cache(model, context)
            if not tree.ids:
                return last, last[None]  # a stand-in: every counted token is predicted by the context
            n, size = len(context), len(tree.ids)
            # Each row sees the whole context, its ancestors in the tree and itself.
            visible = torch.zeros(size, size, dtype=torch.bool, device=device)
            for parent, start, stop in tree.blocks:
                if parent >= 0:
                    visible[start:stop, :start] = visible[parent, :start]
                visible[start:stop, start:stop] = torch.ones(
                    stop - start, stop - start, dtype=torch.bool, device=device
                ).tril()
            mask = torch.zeros(1, 1, size, n + size, dtype=model.dtype, device=device)
            mask[0, 0, :, n:].masked_fill_(~visible, torch.finfo(model.dtype).min)
            if window := self.window:  # a 4D mask is taken as it is: the model's own window must be in it
                rows = torch.tensor(tree.depth, device=device) + n
                keys = torch.cat([torch.arange(n, device=device), rows])
                mask[0, 0].masked_fill_(rows[:, None] - keys[None, :] >= window, torch.finfo(model.dtype).min)
            out = model(
                input_ids=torch.tensor([tree.ids], device=device),
                attention_mask=mask,
                position_ids=torch.tensor([tree.depth], device=device) + n,
                **{self.cache_argument: copy.deepcopy(cache)},
            )
            return last, out.logits[0].float()

    def _context_cache(self, model: Any, context: list[int]) -> tuple[Any, Any]:
        """The KV cache of `context` and its last position's logits, running only the tokens past
        the longest kept context that `context` begins with. Both are shared: do not modify."""
        import torch

        with self._lock:
            kept = self._contexts.get(id(model), [])
            known = [c for c in kept if len(c[0]) <= len(context) and context[: len(c[0])] == c[0]]
        base = max(known, key=lambda c: len(c[0]), default=None)
        if base is not None and len(base[0]) == len(context):
            return base[1], base[2]
        # A cache made without the model's config keeps every layer whole: a sliding-window layer's
        # own cache drops what lies behind the window, and the tree's mask indexes the whole context.
        cache = copy.deepcopy(base[1]) if base is not None else _full_cache()
        new = context[len(base[0]) :] if base is not None else context
        device = self.loaded.device
        # Only the last position's logits are needed: the rest would cost a vocabulary-wide
        # projection of every context token.
        out = model(
            input_ids=torch.tensor([new], device=device),
            use_cache=True,
            logits_to_keep=1,
            **{self.cache_argument: cache},
        )
        entry = (list(context), out.past_key_values, out.logits[0, -1].float())
        with self._lock:
            kept = [*self._contexts.get(id(model), []), entry][-self._kept_contexts :]
            self._contexts = {**self._contexts, id(model): kept}
        return entry[1], entry[2]


class _TokenTree:
    """The actions' completions as one row of tokens: a row per distinct token prefix, up to
    each text's last counted token (whose logits predict nothing counted); the suffix every text
    shares is never fed, nor the prefix counted. Row -1 is the context's last position. A text's
    rows are rows shared with earlier texts, then a block of its own: `blocks` holds (branch row,
    block start, block end) for each.
    """

    def __init__(self, texts: list[list[int]]) -> None:
        self.texts = texts
        self.prefix, self.suffix = _shared_ends(texts)
        rows: dict[tuple[int, int], int] = {}  # (parent row, token) -> row
        self.ids: list[int] = []
        self.depth: list[int] = []
        self.blocks: list[tuple[int, int, int]] = []
        self.predictor: list[int] = []  # the row whose logits predict each counted token
        self.targets: list[int] = []
        for text in texts:
            end, row, branch = len(text) - self.suffix, -1, None
            for j, token in enumerate(text[:end]):
                if j >= self.prefix:
                    self.predictor.append(row)
                    self.targets.append(token)
                if j < end - 1:
                    if (row, token) not in rows:
                        branch = (row, len(self.ids)) if branch is None else branch
                        rows[row, token] = len(self.ids)
                        self.ids.append(token)
                        self.depth.append(j)
                    row = rows[row, token]
            if branch is not None:
                self.blocks.append((*branch, len(self.ids)))

    def _per_text(self, values: list[float]) -> list[list[float]]:
        out, at = [], 0
        for text in self.texts:
            count = max(0, len(text) - self.suffix - self.prefix)
            out.append(values[at : at + count])
            at += count
        return out

    def means(self, last: Any, logits: Any) -> list[float]:
        """Each text's mean log-probability over its counted tokens."""
        import torch

        by = torch.tensor(self.predictor, dtype=torch.long, device=last.device)
        chosen = torch.tensor(self.targets, dtype=torch.long, device=last.device)
        own = by.clamp(min=0)
        # log p = logit - logsumexp: no vocabulary-wide log_softmax of every row is written out
        in_tree = logits[own, chosen] - logits.logsumexp(-1)[own]
        values = torch.where(by < 0, last.log_softmax(-1)[chosen], in_tree).tolist()
        return [sum(v) / len(v) if v else 0.0 for v in self._per_text(values)]

    def decoding_logps(self, last: Any, logits: Any, vocabulary: bool = False) -> list[float]:
        """Each text's log-probability under constrained decoding: at every token where the
        texts part, the next-token distribution over the tokens that continue some text (with
        `vocabulary`, each of those tokens' probability over the whole vocabulary); a token
        no other text competes with is certain. A shift shared by a group of actions (every
        `edit`) changes no choice inside the group, and length counts for nothing: a long patch
        is judged where it parts from the others."""
        import torch

        children: dict[int, list[int]] = {}
        for row, token in zip(self.predictor, self.targets, strict=True):
            if token not in children.setdefault(row, []):
                children[row].append(token)
        chance: dict[tuple[int, int], float] = {}
        for row, tokens in children.items():
            if len(tokens) > 1:
                row_logits = last if row < 0 else logits[row]
                index = torch.tensor(tokens, device=last.device)
                # log p = logit - logsumexp, as in `means`: no vocabulary-wide log_softmax written out
                values = (
                    row_logits[index] - row_logits.logsumexp(-1)
                    if vocabulary
                    else row_logits[index].log_softmax(-1)
                )
                for token, logp in zip(tokens, values.tolist(), strict=True):
                    chance[row, token] = logp
        steps = [chance.get(key, 0.0) for key in zip(self.predictor, self.targets, strict=True)]
        return [sum(v) for v in self._per_text(steps)]


def distinguishing_means(texts: list[list[int]], token_logps: list[list[float]]) -> list[float]:
    """Each text's mean log-probability over the tokens between the prefix and the suffix that
    every text shares (at least one token each).

    The shared prefix's tokens have the same log-probabilities in every text, and a change that
    moves the shared suffix's tokens moves them alike: counting either would only dilute each
    action's own evidence by its length.
    """
    if len(texts) < 2:
        return [sum(v) / len(v) if v else 0.0 for v in token_logps]
    prefix, suffix = _shared_ends(texts)
    means = []
    for values in token_logps:
        span = values[prefix : max(prefix + 1, len(values) - suffix)]
        means.append(sum(span) / len(span))
    return means


def _shared_ends(texts: list[list[int]]) -> tuple[int, int]:
    """How many leading and trailing tokens every text shares, leaving each at least one of its
    own (none when there are fewer than two texts)."""
    if len(texts) < 2:
        return 0, 0
    shortest = min(len(t) for t in texts)
    prefix = 0
    while prefix < shortest - 1 and all(t[prefix] == texts[0][prefix] for t in texts):
        prefix += 1
    suffix = 0
    while suffix < shortest - prefix - 1 and all(t[-1 - suffix] == texts[0][-1 - suffix] for t in texts):
        suffix += 1
    return prefix, suffix


def _common_prefix(a: str, b: str) -> int:
    """Where a completion starts: after the generation prompt, for templates that render the
    prompt and the finished turn slightly differently (those that are consistent: all of it)."""
    if a.startswith(b):
        return len(b)
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _action_key(action: ToolCall) -> tuple[str, str]:
    """What an action's rendered turn depends on (its call id aside): the name and the arguments
    exactly as `assistant_message` writes them."""
    return action.name, json.dumps(action.arguments)


def _attention_window(model: Any) -> int | None:
    """How far back every layer attends (`core.tiny_model`'s `attention_window`), None for all the
    way. The token tree's one mask serves every layer, so a model whose layers differ is refused."""
    config = model.config
    window = getattr(config, "sliding_window", None)
    kinds = set(getattr(config, "layer_types", None) or ["sliding_attention" if window else "full_attention"])
    if kinds == {"full_attention"} or not window:
        return None
    if kinds != {"sliding_attention"}:
        raise ModelError(
            f"the scored policy needs every layer to attend alike; this model's layers are {sorted(kinds)}"
        )
    return int(window)


def _full_cache() -> Any:
    from transformers import DynamicCache

    return DynamicCache()


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
