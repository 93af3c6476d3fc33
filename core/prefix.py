"""Where two rollouts part: step fingerprints and the length of their shared prefix.

Two rollouts are in the same state at step K when every step before K made the same call and
saw the same result. Test output carries timings ("1 failed in 0.31s") that differ between
otherwise identical runs, so they are masked before comparing; nothing else is.

A fingerprint per step is stored with each rollout (`step_keys`), so mining can find shared
prefixes among thousands of rollouts without reading their bodies.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Hashable, Sequence

from core.schema import Rollout, Step

TIMING_RE = re.compile(r"\b\d+(?:\.\d+)?\s?(?:s|sec|seconds|ms)\b")
KEY_CHARS = 12  # hex characters of a step fingerprint: 48 bits, no collision in any realistic task


def action_key(step: Step) -> str:
    if step.action is not None and step.action.command:
        return step.action.command
    if step.tool_call is not None:
        return step.tool_call.name + json.dumps(step.tool_call.arguments, sort_keys=True)
    return step.thought


def observation_key(step: Step) -> str:
    if step.observation is None:
        return "\x00none"
    obs = step.observation
    return f"{obs.exit_code}\x1f{obs.error}\x1f{TIMING_RE.sub('T', obs.content)}"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=KEY_CHARS // 4).hexdigest()


def step_key(step: Step) -> str:
    """The fingerprint of what a step did (first half) and saw (second half); timings masked,
    thoughts ignored. Two steps with equal first halves made the same call."""
    return _digest(f"{action_key(step)}\x1e{step.malformed is None}") + _digest(observation_key(step))


def step_keys(rollout: Rollout) -> list[str]:
    return [step_key(s) for s in rollout.steps]


def same_step(a: Step, b: Step) -> bool:
    return step_key(a) == step_key(b)


def shared_prefix(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """How many leading items two sequences share (step fingerprints, token ids)."""
    index = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        index += 1
    return index


def divergence(a: Rollout, b: Rollout) -> int:
    """The first step at which the two rollouts differ (the length of their shared prefix).
    Steps are fingerprinted only up to there: fingerprinting every step of both sides
    (megabytes of output) cost more than the labelling screen's whole redraw of a pair."""
    for position, (x, y) in enumerate(zip(a.steps, b.steps, strict=False)):
        if step_key(x) != step_key(y):
            return position
    return min(len(a.steps), len(b.steps))
