"""The screen's keys on one line, drawn by one widget.

Textual's Footer is a container holding a widget per key: every screen that opens mounts,
styles and lays out fifteen of them, and every bindings refresh recomposes them all. On the
labelling screen that was a quarter of the first screen's CPU. This draws the same cells —
each key in Footer's colours (the same component classes and theme variables), compact or
not, dimmed when the key is unavailable, lit under the pointer, clicked to press it, its
tooltip shown, scrolled sideways with the wheel when the keys do not fit, the command
palette's key on the right — as one line, redrawn only when what it shows changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.screen import Screen

PALETTE_EDGE = "▏"  # Footer's border-left `vkey` before the command palette's key


@dataclass(frozen=True, slots=True)
class FooterItem:
    """One key as shown: what pressing it sends, how it reads, and whether it is available."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool
    tooltip: str


class KeysFooter(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "footer-key--key",
        "footer-key--description",
        "footer-key--hover",
        "footer-key--edge",
    }
    DEFAULT_CSS = """
    KeysFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .footer-key--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        .footer-key--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        .footer-key--hover {
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        .footer-key--edge {
            color: $foreground 20%;
        }
    }
    """

    def __init__(self, compact: bool = False, show_command_palette: bool = True) -> None:
        super().__init__()
        self.compact = compact
        self.show_command_palette = show_command_palette
        self.items: tuple[FooterItem, ...] = ()
        self.palette: FooterItem | None = None
        self._spans: list[tuple[int, int, FooterItem]] = []  # cells each item takes, as drawn
        self._keys_width = 0  # the cells every item but the palette's takes, unscrolled
        self._hover: FooterItem | None = None
        self._scroll_x = 0
        self._drawn: tuple[object, Strip] | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Redraw only when a key shown, its text, or whether it is available changed."""
        if not self.is_attached or screen is not self.screen:
            return
        items, palette = self._items()
        if (items, palette) != (self.items, self.palette):
            self.items, self.palette = items, palette
            self.refresh()

    def _items(self) -> tuple[tuple[FooterItem, ...], FooterItem | None]:
        """One item per action (its first key), as Footer shows them, and the palette's key."""
        app, bindings = self.app, self.screen.active_bindings
        by_action: dict[str, FooterItem] = {}
        for _node, binding, enabled, tooltip in bindings.values():
            if binding.show and binding.action not in by_action:
                display = app.get_key_display(binding)
                item = FooterItem(binding.key, display, binding.description, binding.action, enabled, tooltip)
                by_action[binding.action] = item
        palette = None
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            found = bindings.get(app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _node, binding, enabled, _tooltip = found
                tip = binding.tooltip or binding.description
                display = app.get_key_display(binding)
                palette = FooterItem(binding.key, display, binding.description, binding.action, enabled, tip)
        return tuple(by_action.values()), palette

    # -- drawing -----------------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._drawn = None  # drawn in the old colours

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        key = (self.items, self.palette, width, self._hover, self._scroll_x, self.compact)
        if self._drawn is None or self._drawn[0] != key:
            self._drawn = (key, self._draw(width))
        return self._drawn[1]

    def _draw(self, width: int) -> Strip:
        base = self.rich_style
        gap = Style(bgcolor=base.bgcolor)  # between keys and after them, as a margin is drawn
        styles = (
            self.get_component_rich_style("footer-key--key"),
            self.get_component_rich_style("footer-key--description"),
        )
        hover = Style(bgcolor=self.get_component_rich_style("footer-key--hover").bgcolor)
        segments: list[Segment] = []
        spans: list[tuple[int, int, FooterItem]] = []
        x = 0
        for item in self.items:
            pieces = self._item(item, styles, hover, self.compact)
            cells = sum(len(text) for text, _ in pieces)
            spans.append((x, x + cells, item))
            segments += [Segment(text, style) for text, style in pieces]
            x += cells
            if self.compact:
                segments.append(Segment(" ", gap))
                x += 1
        self._keys_width = x
        line = Strip(segments, x).crop(self._scroll_x, self._scroll_x + width)
        self._spans = [(start - self._scroll_x, end - self._scroll_x, item) for start, end, item in spans]
        if self.palette is not None:
            right = self._palette(self.palette, base, gap, styles, hover)
            line = line.crop(0, max(0, width - right.cell_length))
            line = line.extend_cell_length(width - right.cell_length, gap)
            self._spans.append((width - right.cell_length, width, self.palette))
            line = Strip([*line, *right], width)
        return line.extend_cell_length(width, gap).crop(0, width)

    def _item(
        self, item: FooterItem, styles: tuple[Style, Style], hover: Style, compact: bool
    ) -> list[tuple[str, Style]]:
        """An item's text in its styles, as FooterKey draws it (padding by `compact`)."""
        key_style, description_style = styles
        under = hover if item == self._hover else Style()
        dim = Style(dim=True) if not item.enabled else Style()
        key_style, description_style = key_style + under + dim, description_style + under + dim
        if not item.description:
            return [(item.display, key_style)]
        if compact:
            return [(item.display, key_style), (" " + item.description, description_style)]
        return [(f" {item.display} ", key_style), (item.description + " ", description_style)]

    def _palette(
        self, item: FooterItem, base: Style, gap: Style, styles: tuple[Style, Style], hover: Style
    ) -> Strip:
        """The command palette's key, docked right behind a thin edge, as Footer draws it."""
        edge = base + Style(color=self.get_component_rich_style("footer-key--edge").color)
        pieces = [*self._item(item, styles, hover, compact=True), (" ", gap)]  # its padding or margin
        segments = [Segment(PALETTE_EDGE, edge), *(Segment(text, style) for text, style in pieces)]
        return Strip(segments)

    # -- the pointer -------------------------------------------------------------------------
    def _item_at(self, x: int) -> FooterItem | None:
        return next((item for start, end, item in self._spans if start <= x < end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        item = self._item_at(event.x)
        if item != self._hover:
            self._hover = item
            self.tooltip = (item.tooltip or None) if item is not None else None
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hover is not None:
            self._hover = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        item = self._item_at(event.x)
        if item is None:
            return
        if item.enabled:
            self.app.simulate_key(item.key)
        else:
            self.app.bell()

    def _scroll_by(self, cells: int) -> None:
        limit = max(0, self._keys_width - self.size.width)
        scroll_x = min(limit, max(0, self._scroll_x + cells))
        if scroll_x != self._scroll_x:
            self._scroll_x = scroll_x
            self.refresh()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._scroll_by(4)
        event.stop()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._scroll_by(-4)
        event.stop()
