"""The agent's six tools as JSON schemas: what the model is told it can call.

The same schemas go into the chat template at rollout time and into the `tools` column of
the exported dataset, so the model is trained on exactly the prompt it acts under.
"""

from __future__ import annotations

from typing import Any


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


_PATH = {"type": "string", "description": "a path relative to the repository root"}

TOOL_SCHEMAS: list[dict[str, Any]] = [
    _tool("list_files", "List the files under a folder of the repository.", {"path": _PATH}, []),
    _tool("read_file", "Show a file's contents.", {"path": _PATH}, ["path"]),
    _tool(
        "search",
        "Find lines containing a text in the repository's files.",
        {"query": {"type": "string"}, "path": _PATH},
        ["query"],
    ),
    _tool(
        "edit",
        "Replace one exact occurrence of `old` with `new` in a file.",
        {"path": _PATH, "old": {"type": "string"}, "new": {"type": "string"}},
        ["path", "old", "new"],
    ),
    _tool("run_tests", "Run the task's test command and show its output.", {}, []),
    _tool("finish", "Stop: the task is done, or cannot be done.", {"message": {"type": "string"}}, []),
]

TOOL_NAMES = frozenset(t["function"]["name"] for t in TOOL_SCHEMAS)
