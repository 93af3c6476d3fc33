"""The openai policy against a real HTTP server on loopback serving the tiny model."""

import socket

import pytest

from core.agent.model import load_model
from core.agent.policies.openai import OpenAIPolicy
from core.agent.runner import Job, jobs_for, run_rollout, run_rollouts
from core.config import PolicyConfig, RolloutConfig
from tests.core.agent.policies.openai_server import TinyModelServer


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    with TinyModelServer(load_model(tiny_model_dir, device="cpu")) as srv:
        yield srv


def policy(url, **over):
    cfg = PolicyConfig(**{"kind": "openai", "base_url": url, "retries": 3, "request_timeout_s": 120, **over})
    return OpenAIPolicy(cfg, model_name="tiny")


def test_native_tool_calls_drive_a_rollout(server, task_repo):
    task, repo = task_repo
    server.requests.clear()
    rollout = run_rollout(Job(task, repo, 1), policy(server.base_url), RolloutConfig())
    assert rollout.steps and all(s.tool_call is not None and not s.malformed for s in rollout.steps)
    assert rollout.policy == "openai:tiny"
    sent = server.requests[0]
    assert sent["model"] == "tiny" and {t["function"]["name"] for t in sent["tools"]} >= {"run_tests", "edit"}
    assert sent["messages"][0] == {"role": "user", "content": task.instruction}


def test_several_rollouts_in_flight(server, task_repo):
    task, repo = task_repo
    stored = []
    done = run_rollouts(
        jobs_for([(task, repo)], 4, 0),
        policy(server.base_url),
        RolloutConfig(step_limit=2),
        concurrency=4,
        on_rollout=stored.append,
    )
    assert done == 4 and len({r.seed for r in stored}) == 4


def test_retries_with_backoff_then_succeeds(server, task_repo):
    task, repo = task_repo
    server.fail_next = [503, 429]
    rollout = run_rollout(Job(task, repo, 2), policy(server.base_url), RolloutConfig(step_limit=1))
    assert rollout.exit_status != "policy_error" and rollout.steps[0].tool_call is not None


def test_invalid_arguments_become_a_malformed_step(server, task_repo):
    task, repo = task_repo
    server.bad_arguments = True
    try:
        rollout = run_rollout(Job(task, repo, 3), policy(server.base_url), RolloutConfig(step_limit=2))
    finally:
        server.bad_arguments = False
    assert all(s.malformed and "not valid JSON" in s.malformed for s in rollout.steps)
    assert "{not json" in rollout.steps[0].thought  # the raw text is kept


def test_a_refused_endpoint_is_recorded_as_a_failed_rollout(task_repo):
    task, repo = task_repo
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rollout = run_rollout(
        Job(task, repo, 4), policy(f"http://127.0.0.1:{port}/v1", retries=1), RolloutConfig()
    )
    assert rollout.exit_status == "policy_error"
    assert "policy error" in rollout.steps[-1].malformed and "after 2 attempts" in rollout.steps[-1].malformed


def test_an_endpoint_that_times_out_is_recorded(task_repo):
    task, repo = task_repo
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts, never answers
    try:
        p = policy(f"http://127.0.0.1:{listener.getsockname()[1]}/v1", retries=0, request_timeout_s=0.5)
        rollout = run_rollout(Job(task, repo, 5), p, RolloutConfig())
    finally:
        listener.close()
    assert rollout.exit_status == "policy_error" and "timed out" in rollout.steps[-1].malformed
