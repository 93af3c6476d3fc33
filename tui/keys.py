"""Remappable keys: `[keys]` in agentpref.toml maps binding ids to keys (Textual's keymap).

[keys]
"label.left" = "a"
"label.right" = "l"
"""

from __future__ import annotations

from core.config import Config


def keymap(config: Config) -> dict[str, str]:
    return dict(config.keys)
