"""The workspace on disk: one SQLite database (through sqlite-utils), the config and folders.

sqlite-utils imports pandas and numpy whenever they are installed (they are: `datasets`
needs them), which cost over a second on every command, `--help` included. The workspace
never stores a DataFrame or a numpy scalar through sqlite-utils, so it is imported here,
first, with the two hidden where they are not loaded yet; a process that loaded them earlier
(training) is left as it is.
"""

from __future__ import annotations

import sys


def _import_sqlite_utils_without_pandas() -> None:
    hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


_import_sqlite_utils_without_pandas()
