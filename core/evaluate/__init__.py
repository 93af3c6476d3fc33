"""Before/after evaluation: did tuning change how often each behaviour is flagged, beyond noise?

Pure and headless (the standard library and pydantic, for the typed result in `result.py`) so
the CLI, the TUI and tests can all use it without pulling in torch or a database.
"""

from __future__ import annotations

from core.evaluate.compare import adjusted_p, compare, markdown, pair_up
from core.evaluate.stats import cluster_bootstrap_interval, holm_adjust, mcnemar_exact_p, wilson_interval

__all__ = [
    "adjusted_p",
    "cluster_bootstrap_interval",
    "compare",
    "holm_adjust",
    "markdown",
    "mcnemar_exact_p",
    "pair_up",
    "wilson_interval",
]
