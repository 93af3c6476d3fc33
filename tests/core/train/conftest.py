import json

import pytest

from core.tiny_model import build_tiny_model


def call(name, arguments, call_id):
    return {
        "role": "assistant",
        "content": f"I will {name}.",
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }


def tool(content, call_id):
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def trajectory_row(last_output="all 3 tests passed", task_id="t1", pair_id=1):
    """A trajectory-granularity row whose chosen side ends on a tool output."""
    prompt = [{"role": "user", "content": "Fix the failing test in calc.py."}]
    chosen = [
        call("run_tests", {}, "call_0"),
        tool("1 failed: test_add expected 3 got 4", "call_0"),
        call("edit", {"path": "calc.py", "old": "a - b", "new": "a + b"}, "call_1"),
        tool("edited calc.py", "call_1"),
        call("run_tests", {}, "call_2"),
        tool(last_output, "call_2"),
    ]
    rejected = [call("finish", {"summary": "done"}, "call_0"), tool("finished", "call_0")]
    return {
        "prompt": prompt,
        "chosen": chosen,
        "rejected": rejected,
        "tools": json.dumps([]),
        "task_id": task_id,
        "pair_id": pair_id,
        "source": "auto",
    }


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    rows = [trajectory_row(), trajectory_row("2 failed")]
    corpus = [json.dumps(r) for r in rows] * 4
    return build_tiny_model(tmp_path_factory.mktemp("tiny"), corpus, vocab_size=400)
