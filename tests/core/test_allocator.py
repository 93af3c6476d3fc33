"""glibc's malloc is told to keep freed memory, once, and only where it is glibc."""

import platform
import sys

import pytest

from core import allocator


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_glibc_takes_every_setting():
    assert allocator._mallopt_all() is True


def test_a_benchmark_can_keep_the_defaults(monkeypatch):
    monkeypatch.setenv("AGENTPREF_MALLOC", "default")
    assert allocator._mallopt_all() is False


def test_applied_once(monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.setattr(allocator, "_mallopt_all", lambda: calls.append(1) or True)
    assert allocator.keep_freed_memory() and allocator.keep_freed_memory()
    assert calls == [1]
