"""The scored policy's shortcuts (kept context caches, the token tree, kept completions) change
no score: each one is checked against the plain computation, one full forward pass per action."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from core.agent.model import load_model
from core.agent.policies.scored import ScoredPolicy, _common_prefix, admissible_actions, distinguishing_means
from core.agent.runner import Job, run_rollout, run_rollouts
from core.agent.tools import TOOL_SCHEMAS
from core.chat import Rendering, assistant_message, conversation
from core.config import PolicyConfig, RolloutConfig
from core.schema import Step


@pytest.fixture(scope="module", params=["whole", "windowed"])
def loaded(request, tiny_model_dir, windowed_model_dir):
    """Every check runs on a model attending the whole context and on one attending within a
    window, whose window the token tree's own mask must keep."""
    return load_model(tiny_model_dir if request.param == "whole" else windowed_model_dir, device="cpu")


def reference_scores(loaded, context: list[int], texts: list[list[int]]) -> list[float]:
    """Every text in its own full forward pass after the context, then `distinguishing_means`."""
    import torch

    token_logps = []
    with torch.no_grad():
        for text in texts:
            logp = loaded.model(torch.tensor([context + text])).logits[0].float().log_softmax(-1)
            token_logps.append([float(logp[len(context) + i - 1, tok]) for i, tok in enumerate(text)])
    return distinguishing_means(texts, token_logps)


def reference_render(
    policy, instruction: str, steps: list[Step], actions
) -> tuple[list[int], list[list[int]]]:
    """Each action's completion rendered after the whole conversation (no truncation needed here)."""
    tokenizer = policy.loaded.tokenizer
    messages = conversation(instruction, steps, Rendering.of(policy.cfg))
    prefix = tokenizer.apply_chat_template(
        messages, tools=TOOL_SCHEMAS, tokenize=False, add_generation_prompt=True
    )
    texts = []
    for action in actions:
        turn = Step(index=len(steps), tool_call=action)
        full = tokenizer.apply_chat_template(
            [*messages, assistant_message(turn)], tools=TOOL_SCHEMAS, tokenize=False
        )
        texts.append(tokenizer(full[_common_prefix(full, prefix) :], add_special_tokens=False)["input_ids"])
    return tokenizer(prefix, add_special_tokens=False)["input_ids"], texts


class Recording(ScoredPolicy):
    """The policy, noting the state of every step it takes."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.states: list[tuple] = []

    def act(self, env, steps, rng, temperature):
        self.states.append((env.task.instruction, list(steps), admissible_actions(env)))
        return super().act(env, steps, rng, temperature)


def rollout_states(loaded, task, repo, seed: int = 5) -> list[tuple]:
    """(instruction, steps so far, actions) at every step of a real rollout."""
    recorder = Recording(loaded, PolicyConfig(temperature=1.0))
    run_rollout(Job(task, repo, seed), recorder, RolloutConfig())
    return recorder.states


def test_every_step_scores_and_renders_as_the_plain_computation(loaded, task_repo):
    task, repo = task_repo
    states = rollout_states(loaded, task, repo)
    assert len(states) >= 2
    policy = ScoredPolicy(loaded, PolicyConfig(temperature=1.0))  # fresh caches, filled step by step
    for state in states:
        context, texts = policy._render(*state)
        assert (context, texts) == reference_render(policy, *state)
        assert policy.score(context, texts) == pytest.approx(
            reference_scores(loaded, context, texts), abs=1e-5
        )
    assert len(policy._contexts[id(loaded.model)]) >= 2  # later steps ran only their new tokens
    # A context that extends none kept, and one seen before, score the same too.
    context, texts = policy._render(*states[-1])
    for other in (context[:-3] + context[-2:], context):
        assert policy.score(other, texts) == pytest.approx(reference_scores(loaded, other, texts), abs=1e-5)


@pytest.mark.parametrize(
    "texts",
    [
        [
            [5, 6, 7, 8, 9],
            [5, 6, 7, 10, 9],
            [5, 6, 11, 12, 13, 8, 9],
            [5, 6, 7, 8, 9],
        ],  # shared rows, a duplicate
        [[5, 6, 7], [5, 6, 7, 8, 9, 7]],  # one text's rows all belong to the other
        [[20, 21], [22]],  # nothing shared, a one-token text
        [[30, 31, 32, 33]],  # a single text: every token counts
    ],
)
def test_the_token_tree_scores_each_text_as_alone(loaded, texts):
    context = loaded.tokenizer("<|im_start|>user\nfix calc/stats.py<|im_end|>\n", add_special_tokens=False)[
        "input_ids"
    ]
    policy = ScoredPolicy(loaded, PolicyConfig())
    assert policy.score(context, texts) == pytest.approx(reference_scores(loaded, context, texts), abs=1e-5)


def test_a_template_that_renders_turns_after_their_conversation_is_rendered_in_full(loaded, task_repo):
    task, repo = task_repo
    tokenizer = copy.deepcopy(loaded.tokenizer)
    # The call id (`call_<step>`) in every assistant turn: a completion differs from step to step.
    tokenizer.chat_template = tokenizer.chat_template.replace("<tool_call>", "<tool_call>{{ call.id }}")
    policy = ScoredPolicy(replace(loaded, tokenizer=tokenizer), PolicyConfig(temperature=1.0))
    states = rollout_states(loaded, task, repo)
    for state in states[:3]:
        assert policy._render(*state) == reference_render(policy, *state)
    assert policy._completions is None


def test_rollouts_in_flight_together_take_the_same_steps_as_alone(loaded, task_repo):
    task, repo = task_repo
    seeds = [11, 12, 13]
    alone = [
        run_rollout(Job(task, repo, s), ScoredPolicy(loaded, PolicyConfig()), RolloutConfig()) for s in seeds
    ]
    together = []
    policy = ScoredPolicy(loaded, PolicyConfig(concurrency=2))
    run_rollouts([Job(task, repo, s) for s in seeds], policy, RolloutConfig(), 2, together.append)
    calls = {r.seed: [s.tool_call for s in r.steps] for r in together}
    assert [calls[s] for s in seeds] == [[s.tool_call for s in r.steps] for r in alone]
