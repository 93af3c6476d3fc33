"""A Footer that rebuilds its keys only when what it shows changed.

Textual's Footer recomposes (a widget per key, each styled anew) on every bindings refresh:
every focus change and every `refresh_bindings()`, one queued rebuild per refresh, so opening
a rollout rebuilt it about fifteen times and each step moved once more. This one rebuilds at
most once per refresh cycle, not at all when every key shown, its description and whether
it is enabled are as they were, and where only some keys became enabled or disabled (the next
rollout has no parent, nothing to fold) it dims or lights those keys in place: a rebuild was
most of what opening a kept rollout screen cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # the key widgets Footer.compose yields

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
        shown, before = self._keys(), self._shown
        if shown == before:
            return
        self._shown = shown
        if before is not None and _without_enabled(shown) == _without_enabled(before):
            enabled: dict[str, bool] = {}
            for _key, action, _description, on, _tooltip in shown:
                enabled.setdefault(action, on)  # one widget per action, as Footer.compose draws
            for widget in self.query(FooterKey):
                if widget.action in enabled:  # as FooterKey.__init__ marks a disabled key
                    widget._disabled = not enabled[widget.action]
                    widget.set_class(widget._disabled, "-disabled")
            return
        await self.recompose()

    def _keys(self) -> KeyState:
        return tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show
        )


def _without_enabled(keys: KeyState) -> KeyState:
    return tuple((key, action, description, False, tooltip) for key, action, description, _, tooltip in keys)
