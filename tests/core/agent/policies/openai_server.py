"""A minimal OpenAI-compatible chat server on loopback that serves the tiny model.

It answers /v1/chat/completions with a native tool call chosen by the model (scored over a
few calls, as a server with guided decoding would), and can be told to fail the first
requests with a status code, to test retries.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from core.agent.model import LoadedModel

CHOICES = [
    ("run_tests", {}),
    ("list_files", {"path": "."}),
    ("read_file", {"path": "calc/stats.py"}),
    ("finish", {"message": "Done."}),
]


class TinyModelServer:
    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.fail_next: list[int] = []  # status codes to answer with before serving
        self.bad_arguments = False  # answer with arguments that are not JSON
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> TinyModelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def choose(self, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        import torch

        tokenizer, model = self.loaded.tokenizer, self.loaded.model
        prompt = tokenizer.apply_chat_template(
            body["messages"], tools=body.get("tools"), tokenize=False, add_generation_prompt=True
        )
        best, best_score = CHOICES[0], float("-inf")
        for name, args in CHOICES:
            text = json.dumps({"name": name, "arguments": args})
            ids = tokenizer(prompt + text, add_special_tokens=False, return_tensors="pt")["input_ids"]
            start = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
            with torch.no_grad():
                logp = model(ids).logits[0].log_softmax(-1)
            score = sum(float(logp[i - 1, ids[0, i]]) for i in range(start, ids.shape[1])) / (
                ids.shape[1] - start
            )
            if score > best_score:
                best, best_score = (name, args), score
        return best

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    status = server.fail_next.pop(0) if server.fail_next else 200
                if status != 200:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b'{"error": "try later"}')
                    return
                with server.lock:
                    name, args = server.choose(body)
                arguments = "{not json" if server.bad_arguments else json.dumps(args)
                reply = {
                    "choices": [
                        {
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [
                                    {
                                        "id": "call_1",
                                        "type": "function",
                                        "function": {"name": name, "arguments": arguments},
                                    }
                                ],
                            }
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5},
                }
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
