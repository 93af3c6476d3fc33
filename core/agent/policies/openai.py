"""The `openai` policy: any OpenAI-compatible chat endpoint with native tool calling.

This is how a vLLM server is used (`vllm serve BASE --enable-lora --lora-modules NAME=PATH`:
the request's `model` picks the base or an adapter). Requests are retried with exponential
backoff on connection errors, timeouts, 429 and 5xx; when the retries run out the rollout
fails with the reason recorded. Only the standard library is used.
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from typing import Any

from core.agent.env import TaskEnv
from core.agent.parse import parse_turn
from core.agent.policies.base import PolicyError, Turn
from core.agent.tools import TOOL_NAMES, TOOL_SCHEMAS
from core.chat import Rendering, conversation
from core.config import PolicyConfig
from core.schema import Step, ToolCall

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIPolicy:
    def __init__(self, cfg: PolicyConfig, model_name: str) -> None:
        self.cfg = cfg
        self.model_name = model_name
        self.label = f"openai:{model_name}"
        self.url = cfg.base_url.rstrip("/") + "/chat/completions"
        self.api_key = os.environ.get(cfg.api_key_env, "")

    def act(self, env: TaskEnv, steps: list[Step], rng: random.Random, temperature: float) -> Turn:
        body = {
            "model": self.model_name,
            "messages": conversation(env.task.instruction, steps, Rendering.of(self.cfg)),
            "tools": TOOL_SCHEMAS,
            "temperature": temperature,
            "max_tokens": self.cfg.max_new_tokens,
            "seed": rng.getrandbits(31),
        }
        reply = self._post(body)
        try:
            message = reply["choices"][0]["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise PolicyError(f"{self.url}: the reply has no choices[0].message: {str(reply)[:200]}") from exc
        usage = reply.get("usage") or {}
        return turn_from_message(message, usage.get("prompt_tokens"), usage.get("completion_tokens"))

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(self.cfg.retries + 1):
            if attempt:
                time.sleep(min(30.0, 0.5 * 2 ** (attempt - 1)))
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.cfg.request_timeout_s) as response:
                    return dict(json.loads(response.read()))
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[:200].decode(errors='replace')}"
                if exc.code not in RETRY_STATUSES:
                    break
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = f"{getattr(exc, 'reason', exc)}"
            except json.JSONDecodeError as exc:
                last = f"the reply is not JSON ({exc.msg})"
        raise PolicyError(f"{self.url}: {last} (after {self.cfg.retries + 1} attempts)")


def turn_from_message(message: dict[str, Any], tokens_in: int | None, tokens_out: int | None) -> Turn:
    """A native tool call, or, from servers that do not parse calls, one found in the text."""
    content = message.get("content") or ""
    calls = message.get("tool_calls") or []
    if len(calls) > 1:
        return Turn(
            content, None, f"expected one tool call per turn, found {len(calls)}", tokens_in, tokens_out
        )
    if calls:
        function = calls[0].get("function") or {}
        name, arguments = function.get("name", ""), function.get("arguments") or "{}"
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                raw = json.dumps({"name": name, "arguments": arguments})
                return Turn(
                    content + raw, None, f"arguments of {name} are not valid JSON", tokens_in, tokens_out
                )
        if name not in TOOL_NAMES or not isinstance(arguments, dict):
            return Turn(
                content, None, f"unknown tool {name!r} or arguments not an object", tokens_in, tokens_out
            )
        return Turn(
            content,
            ToolCall(name=name, arguments=arguments, id=calls[0].get("id")),
            None,
            tokens_in,
            tokens_out,
        )
    parsed = parse_turn(content, TOOL_NAMES)
    if parsed.malformed:
        return Turn(content, None, parsed.malformed, tokens_in, tokens_out)
    return Turn(parsed.thought, parsed.tool_call, None, tokens_in, tokens_out)
