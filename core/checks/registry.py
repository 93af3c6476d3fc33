"""The check registry: built-in checks and the user's own register here under an id.

A check is a pure function `(rollout, task, config) -> Finding | None`. Ids are a contract
(stored flags, the config's `weights`/`disabled`, pair reasons all name them), so registering a
second, different function under a taken id is an error rather than a silent replacement.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from core.config import ChecksConfig
from core.schema import Rollout, Task

ENTRY_POINT_GROUP = "agentpref.checks"


@dataclass(frozen=True)
class Finding:
    """What a check found. `message` reads after a subject: "ran no tests".

    `steps` are what the TUI points at; `anchor` is the one step where the lesson lives: the
    choice that caused the flag, or for an absence (tests never run, no stop) the step where the
    missing action belonged. Mining pairs two rollouts that share every step before it. None:
    the first of `steps`.
    """

    message: str
    steps: list[int] = field(default_factory=list)
    anchor: int | None = None


CheckFn = Callable[[Rollout, Task | None, ChecksConfig], Finding | None]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    explanation: str  # one line, shown beside the flag in the TUI
    heuristic: bool
    fn: CheckFn


REGISTRY: dict[str, CheckSpec] = {}


def check(id: str, explanation: str, heuristic: bool = False) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as check `id`; the function itself is returned unchanged."""

    def register(fn: CheckFn) -> CheckFn:
        _register(CheckSpec(id, explanation, heuristic, fn))
        return fn

    return register


def _qualname(fn: CheckFn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _register(spec: CheckSpec) -> None:
    old = REGISTRY.get(spec.id)
    # The same function registered again (a module reloaded) replaces itself; another one is a clash.
    if old is not None and _qualname(old.fn) != _qualname(spec.fn):
        raise ValueError(f"check id {spec.id!r} is already registered by {_qualname(old.fn)}")
    REGISTRY[spec.id] = spec


def load_custom(cfg: ChecksConfig) -> None:
    """Import the config's `custom = ["module:function"]` checks and the `agentpref.checks` entry points.

    A function decorated with `@check` registered itself on import; any other callable is
    registered as `custom.<function name>`. A spec that cannot be loaded raises ValueError naming it.
    """
    for spec in cfg.custom:
        _adopt(_load_spec(spec), f"custom check {spec!r}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        where = f"entry point {ep.name} = {ep.value!r} (group {ENTRY_POINT_GROUP})"
        try:
            loaded = ep.load()
        except Exception as exc:  # a plugin's import can fail in any way; name it for the user
            raise ValueError(f"{where}: cannot load: {exc}") from exc
        _adopt(loaded, where)


def _load_spec(spec: str) -> object:
    module_name, sep, attr = spec.strip().partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"custom check {spec!r}: expected 'module:function'")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or the module itself raised while importing
        raise ValueError(f"custom check {spec!r}: cannot import {module_name}: {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError as exc:
        raise ValueError(f"custom check {spec!r}: {module_name} has no attribute {attr!r}") from exc


def _adopt(fn: object, where: str) -> str:
    """Register `fn` unless `@check` already did; returns its id."""
    if not callable(fn):
        raise ValueError(f"{where}: {fn!r} is not callable")
    for spec in REGISTRY.values():
        if spec.fn is fn:
            return spec.id
    doc = (getattr(fn, "__doc__", None) or "").strip().splitlines()
    name = getattr(fn, "__name__", type(fn).__name__)
    check_fn: CheckFn = fn  # type: ignore[assignment]
    spec = CheckSpec(f"custom.{name}", doc[0] if doc else name, False, check_fn)
    _register(spec)
    return spec.id
