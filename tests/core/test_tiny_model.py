"""The tiny model's tokenizer trains without drawing: its bars would collide with `init --demo`'s."""

import os
import pty
import subprocess
import sys

TRAIN = """
from core.tiny_model import train_tokenizer
tokenizer = train_tokenizer(["def f(x):\\n    return x + 1\\n"] * 500, vocab_size=300)
print("vocab", tokenizer.get_vocab_size())
"""


def run_on_a_terminal(code: str) -> str:
    """Run `code` with stdout and stderr on a pseudo-terminal (the tokenizers library draws its
    bars only there) and return everything written to it."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=follower, stdout=follower, stderr=follower, close_fds=True
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the other end closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=60) == 0, b"".join(chunks)
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_training_the_tokenizer_draws_nothing_on_a_terminal():
    shown = run_on_a_terminal(TRAIN)
    assert "vocab" in shown
    assert "Compute merges" not in shown and "\x1b[2K" not in shown, shown
