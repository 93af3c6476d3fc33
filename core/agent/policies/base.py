"""What every policy is: given the task and the steps so far, produce the next turn.

The types the policies, the runner and the branching share, in a module that imports none of
them: `Turn`, the `Policy` protocol, `PolicyError`, the rollout seed and `call_key`.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Protocol

from core.agent.env import TaskEnv
from core.config import PolicyConfig
from core.schema import Step, ToolCall


class PolicyError(RuntimeError):
    """The policy could not produce a turn (an endpoint down, a model that crashed)."""


@dataclass(frozen=True)
class Turn:
    thought: str
    tool_call: ToolCall | None
    malformed: str | None = None  # why the turn is not a valid tool call
    tokens_in: int | None = None
    tokens_out: int | None = None


class Policy(Protocol):
    label: str  # recorded on every rollout it makes
    cfg: PolicyConfig

    def act(self, env: TaskEnv, steps: list[Step], rng: random.Random, temperature: float) -> Turn: ...


def rollout_seed(base: int, task_id: str, index: int) -> int:
    """The seed of rollout `index` of a task: the same for every model (common random numbers)."""
    digest = hashlib.blake2b(f"{base}:{task_id}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1  # 63 bits: SQLite integers are signed


def call_key(call: ToolCall | None) -> str:
    """What makes two calls the same action (ids and thoughts aside); every unparseable turn is one."""
    if call is None:
        return "\x00malformed"
    return call.name + json.dumps(call.arguments, sort_keys=True, default=str)
