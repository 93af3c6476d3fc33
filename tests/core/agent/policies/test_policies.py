"""The scored and hf policies on a real tiny model, through the real environment."""

import random

import pytest

from core.agent.confinement import BWRAP, NAMESPACES, RLIMITS
from core.agent.env import TaskEnv
from core.agent.model import ModelError, load_model
from core.agent.policies import UnconfinedError, build_policy, check_confinement
from core.agent.policies.hf import GeneratePolicy
from core.agent.policies.openai import OpenAIPolicy
from core.agent.policies.scored import ScoredPolicy, admissible_actions
from core.agent.runner import Job, run_rollout
from core.config import PolicyConfig, RolloutConfig


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model(tiny_model_dir, device="cpu")


def test_admissible_actions_offer_good_and_tempting_bad_ones(task_repo):
    task, repo = task_repo
    with TaskEnv(task, repo) as env:
        actions = admissible_actions(env)
        files = set(env.files())
    reads = [a.arguments["path"] for a in actions if a.name == "read_file"]
    assert "calc/stats.py" in reads
    assert any(path not in files for path in reads)  # a path that does not exist
    edits = [a.arguments["path"] for a in actions if a.name == "edit"]
    assert edits == ["calc/stats.py", "README.md"]  # the candidates, outside the allowed globs included
    assert {"run_tests", "finish", "list_files", "search"} <= {a.name for a in actions}


def test_scores_are_mean_token_log_likelihoods(loaded):
    import torch

    policy = ScoredPolicy(loaded, PolicyConfig(temperature=1.0))
    tokenizer = loaded.tokenizer
    context = tokenizer(
        "<|im_start|>user\nfix it<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False
    )["input_ids"]
    texts = [
        tokenizer(t, add_special_tokens=False)["input_ids"]
        for t in ("short", "a much longer action text here")
    ]
    scores = policy.score(context, texts)
    for text, score in zip(texts, scores, strict=True):
        ids = torch.tensor([context + text])
        with torch.no_grad():
            logp = loaded.model(ids).logits[0].log_softmax(-1)
        expected = sum(float(logp[len(context) + i - 1, tok]) for i, tok in enumerate(text)) / len(text)
        assert score == pytest.approx(expected, abs=1e-4)


def test_scored_rollouts_are_reproducible_from_their_seed(loaded, task_repo):
    task, repo = task_repo
    policy = ScoredPolicy(loaded, PolicyConfig(temperature=1.0))
    runs = [run_rollout(Job(task, repo, seed), policy, RolloutConfig()) for seed in (7, 7, 8)]
    calls = [[(s.tool_call.name, s.tool_call.arguments) for s in r.steps] for r in runs]
    assert calls[0] == calls[1]
    assert runs[0].final_diff == runs[1].final_diff and runs[0].tests_passed == runs[1].tests_passed
    assert all(r.steps and r.policy.startswith("scored:") for r in runs)
    assert all(len(r.steps) <= task.step_limit for r in runs)


def test_free_generation_keeps_unparseable_turns_and_stops_after_three(loaded, task_repo):
    task, repo = task_repo
    policy = GeneratePolicy(loaded, PolicyConfig(temperature=1.0, max_new_tokens=24))
    rollout = run_rollout(Job(task, repo, 3), policy, RolloutConfig(malformed_in_a_row=3))
    malformed = [s for s in rollout.steps if s.malformed]
    assert malformed, "an untrained model should not follow the protocol"
    assert all(s.tool_call is None and s.observation.error for s in malformed)
    if rollout.exit_status == "format_errors":
        assert all(s.malformed for s in rollout.steps[-3:])
    again = run_rollout(Job(task, repo, 3), policy, RolloutConfig(malformed_in_a_row=3))
    assert [s.thought for s in again.steps] == [s.thought for s in rollout.steps]


def test_bad_model_paths_are_clear(tmp_path, tiny_model_dir):
    with pytest.raises(ModelError, match="no model at"):
        load_model(tmp_path / "nope")
    with pytest.raises(ModelError, match="no PEFT adapter"):
        load_model(tiny_model_dir, adapter=tmp_path)


def test_sampling_follows_the_scores():
    from core.agent.policies.scored import _sample

    rng = random.Random(0)
    picks = [_sample([0.0, -3.0, -3.0], 1.0, rng) for _ in range(400)]
    assert picks.count(0) > 300
    assert _sample([-1.0, -0.5], 0.0, rng) == 1  # temperature 0: the best


@pytest.mark.parametrize("kind", ["hf", "openai"])
def test_model_policies_refuse_tests_confined_by_rlimits_alone(kind, tmp_path, force_isolation):
    force_isolation(RLIMITS)
    with pytest.raises(UnconfinedError) as info:
        build_policy(PolicyConfig(kind=kind), tmp_path)
    message = str(info.value)
    assert f"the {kind} policy's model writes the code" in message
    assert "apt-get install bubblewrap" in message and "unprivileged user namespaces" in message
    assert "`allow_unconfined = true` under [sandbox]" in message
    assert isinstance(info.value, ModelError)  # reported like a model that cannot be used here


def test_allow_unconfined_lets_them_run_and_the_scored_policy_always_may(tmp_path, force_isolation):
    force_isolation(RLIMITS)
    policy = build_policy(PolicyConfig(kind="openai"), tmp_path, allow_unconfined=True)
    assert isinstance(policy, OpenAIPolicy)
    check_confinement("scored", allow_unconfined=False)  # candidates the task's author wrote


@pytest.mark.parametrize("mode", [BWRAP, NAMESPACES])
def test_model_policies_run_where_tests_are_confined(mode, tmp_path, force_isolation):
    force_isolation(mode)
    check_confinement("hf", allow_unconfined=False)
    assert isinstance(build_policy(PolicyConfig(kind="openai"), tmp_path), OpenAIPolicy)


def test_a_windowed_model_with_state_notes_generates_and_scores(windowed_model_dir, task_repo):
    """The demo's kind of model: generation keeps its own sliding-window cache, and the scored
    policy its whole-context one; both run a rollout through the state-noted prompt."""
    task, repo = task_repo
    windowed = load_model(windowed_model_dir, device="cpu")
    cfg = PolicyConfig(temperature=1.0, max_new_tokens=24, state_notes=True)
    generating = GeneratePolicy(windowed, cfg)
    generated = run_rollout(Job(task, repo, 3), generating, RolloutConfig(malformed_in_a_row=3))
    scored = run_rollout(Job(task, repo, 3), ScoredPolicy(windowed, cfg), RolloutConfig())
    assert generated.steps and scored.steps and all(s.tool_call is not None for s in scored.steps)
