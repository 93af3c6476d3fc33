"""Before/after evaluation: did tuning change how often each behaviour is flagged, beyond noise?

Pure and headless (standard library only) so the CLI, the TUI and tests can all use it without
pulling in torch or a database.
"""

from __future__ import annotations

from core.evaluate.compare import compare, markdown
from core.evaluate.stats import fisher_exact_p, newcombe_interval, wilson_interval

__all__ = ["compare", "fisher_exact_p", "markdown", "newcombe_interval", "wilson_interval"]
