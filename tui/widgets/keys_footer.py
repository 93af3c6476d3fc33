"""A Footer that rebuilds its keys only when what it shows changed.

Textual's Footer recomposes (a widget per key, each styled anew) on every bindings refresh:
every focus change and every `refresh_bindings()`, one queued rebuild per refresh, so opening
a rollout rebuilt it about fifteen times and each step moved once more. This one rebuilds at
most once per refresh cycle, and not at all when every key shown, its description and whether
it is enabled are as they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen

KeyState = tuple[tuple[str, str, str, bool, str], ...]


class KeysFooter(Footer):
    _shown: KeyState | None = None  # the keys of the last rebuild
    _queued = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._queued:
            return
        if self.is_attached and screen is self.screen:
            self._queued = True
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._queued = False
        if not self.is_attached:
            return
        shown = self._keys()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()

    def _keys(self) -> KeyState:
        return tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )
