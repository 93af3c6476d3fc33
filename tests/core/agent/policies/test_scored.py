"""How the scored policy turns a model's token log-probabilities into a choice of action."""

import copy
import dataclasses
import math

import pytest
import torch

from core.agent.model import load_model
from core.agent.policies.scored import ScoredPolicy, _TokenTree
from core.config import PolicyConfig

GROUP_TOKEN = 5
# Two actions that begin alike (token 5), a short and a long one, and one that does not; every
# text ends with the same token, as every tool call ends alike.
TEXTS = [[5, 6, 7, 9], [5, 6, 8, 12, 13, 14, 15, 9], [10, 11, 9]]


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model(tiny_model_dir, device="cpu")


@pytest.fixture(scope="module")
def context(loaded):
    return loaded.tokenizer("<|im_start|>user\nfix calc/stats.py<|im_end|>\n", add_special_tokens=False)[
        "input_ids"
    ]


def shifted(model, token: int, shift: float):
    """A copy of `model` whose logit for `token` is raised by `shift` everywhere: the kind of
    shared move DPO makes to a token every action of a group begins with."""
    copied = copy.deepcopy(model)
    bias = torch.zeros(copied.config.vocab_size)
    bias[token] = shift
    copied.lm_head.register_forward_hook(lambda module, inputs, output: output + bias)
    return copied


def test_constrained_decoding_is_a_distribution_and_ignores_length(loaded, context):
    policy = ScoredPolicy(loaded, PolicyConfig())
    tree = _TokenTree(TEXTS)
    logps = tree.decoding_logps(*policy._tree_logits(loaded.model, context, tree))
    assert sum(math.exp(v) for v in logps) == pytest.approx(1.0, abs=1e-5)
    # Past the token where it parts from the others, an action's own tokens are certain.
    longer = [TEXTS[0], [*TEXTS[1][:-1], 16, 17, 18, 9], TEXTS[2]]
    tree = _TokenTree(longer)
    assert tree.decoding_logps(*policy._tree_logits(loaded.model, context, tree)) == pytest.approx(
        logps, abs=1e-5
    )


def test_without_an_adapter_ratio_scores_are_the_tempered_means(loaded, context):
    means = ScoredPolicy(loaded, PolicyConfig(scoring="mean")).score(context, TEXTS)
    same = dataclasses.replace(loaded, reference=loaded.model)
    for policy in (ScoredPolicy(loaded, PolicyConfig()), ScoredPolicy(same, PolicyConfig())):
        assert policy.score(context, TEXTS, 0.5) == pytest.approx([m / 0.5 for m in means], abs=1e-5)


def test_a_shift_shared_by_a_group_changes_no_choice_inside_it(loaded, context):
    tuned = shifted(loaded.model, GROUP_TOKEN, 2.0)
    before = ScoredPolicy(loaded, PolicyConfig()).score(context, TEXTS)
    after = ScoredPolicy(
        dataclasses.replace(loaded, model=tuned, reference=loaded.model), PolicyConfig()
    ).score(context, TEXTS)
    moved = [a - b for a, b in zip(after, before, strict=True)]
    assert moved[0] == pytest.approx(moved[1], abs=1e-5)  # the group rose together...
    assert moved[0] > 0.1 > moved[2]  # ...over the action outside it
    # Averaged over each action's length, the same shift favours the short action of the group.
    mean = ScoredPolicy(dataclasses.replace(loaded, model=tuned), PolicyConfig(scoring="mean"))
    unshifted = ScoredPolicy(loaded, PolicyConfig(scoring="mean")).score(context, TEXTS)
    by_mean = [a - b for a, b in zip(mean.score(context, TEXTS), unshifted, strict=True)]
    assert by_mean[0] > by_mean[1] + 0.1


def test_the_adapters_ratio_has_its_own_temperature(loaded, context):
    """At the demo's temperatures a ratio divided by the sampling temperature outweighs every
    difference the state makes; `adapter_temperature` divides it by its own."""
    tuned = dataclasses.replace(loaded, model=shifted(loaded.model, GROUP_TOKEN, 2.0), reference=loaded.model)
    base = ScoredPolicy(loaded, PolicyConfig()).score(context, TEXTS, 0.01)
    same = ScoredPolicy(tuned, PolicyConfig()).score(context, TEXTS, 0.01)
    own = ScoredPolicy(tuned, PolicyConfig(adapter_temperature=0.5)).score(context, TEXTS, 0.01)
    ratio_same = [a - b for a, b in zip(same, base, strict=True)]
    ratio_own = [a - b for a, b in zip(own, base, strict=True)]
    assert ratio_own[0] > 0.1  # the adapter still counts...
    for tempered, untempered in zip(ratio_same, ratio_own, strict=True):  # ...at 0.01/0.5 the weight
        assert tempered == pytest.approx(untempered * 50, rel=1e-3, abs=1e-4)


OTHER_TOKEN = 10  # the first token of the action outside the group


def test_a_vocabulary_ratio_leaves_an_action_where_others_rose(loaded, context):
    """Among the choices, an action that DPO never moved loses share wherever another rose
    (the demo's edit, rarely chosen, fell wherever a read was); among the whole vocabulary
    it keeps its log-ratio, up to the normaliser's change."""
    tuned = dataclasses.replace(loaded, model=shifted(loaded.model, OTHER_TOKEN, 2.0), reference=loaded.model)
    base = ScoredPolicy(loaded, PolicyConfig()).score(context, TEXTS, 0.01)

    def ratio(how: str) -> list[float]:
        scores = ScoredPolicy(tuned, PolicyConfig(adapter_ratio=how, adapter_temperature=1.0)).score(
            context, TEXTS, 0.01
        )
        return [a - b for a, b in zip(scores, base, strict=True)]

    choices, vocabulary = ratio("choices"), ratio("vocabulary")
    assert choices[0] < -0.1 and choices[1] < -0.1  # the group lost share to the risen action
    assert abs(vocabulary[0]) < 0.05 and abs(vocabulary[1]) < 0.05  # the normaliser's change only
    assert vocabulary[2] == pytest.approx(2.0, abs=0.05)  # the risen action keeps its own rise
