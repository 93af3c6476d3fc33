"""Fixtures for the check tests; the rollout builders live in builders.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.checks import REGISTRY


@pytest.fixture
def restore_registry() -> Iterator[None]:
    """Custom checks registered by a test must not leak into the next one."""
    saved = dict(REGISTRY)
    yield
    REGISTRY.clear()
    REGISTRY.update(saved)
