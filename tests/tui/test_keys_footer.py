"""The one-widget footer draws what Textual's Footer draws, and answers the pointer as it does."""

from __future__ import annotations

from typing import ClassVar

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widgets import Footer, Static

from tui.widgets.keys_footer import KeysFooter

Cells = list[tuple[str, str]]


class Keys(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "press('a')", "Apple", tooltip="Eat an apple"),
        Binding("b", "press('b')", "Banana"),
        Binding("x", "press('x')", "Cherry"),  # never available
        Binding("c", "press('c')", "Cherry again"),  # another key of an action shown once
        Binding("h", "press('h')", "Hidden", show=False),
    ]

    def __init__(self, footer: Footer | KeysFooter) -> None:
        super().__init__()
        self.footer = footer
        self.pressed: list[str] = []
        self.bells = 0

    def compose(self) -> ComposeResult:
        yield Static("body")
        yield self.footer

    def action_press(self, key: str) -> None:
        self.pressed.append(key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if parameters == ("x",) else True

    def bell(self) -> None:
        self.bells += 1


def bottom_row(app: App[None]) -> Cells:
    lines: list[list[Strip]] = app.screen._compositor.render_full_update().strips  # type: ignore[assignment]
    return [(char, str(segment.style)) for strip in lines[-1] for segment in strip for char in segment.text]


# Not compared: a compact footer with the palette's key over keys cut at its edge, where
# Textual's shows a letter of the hidden key through the palette's margin and this one a blank.
@pytest.mark.parametrize(
    ("compact", "palette", "width"),
    [(True, False, 100), (True, False, 30), (True, True, 100), (False, True, 100), (False, True, 30)],
)
async def test_it_draws_every_cell_as_textuals_footer_does(compact: bool, palette: bool, width: int) -> None:
    rows = []
    for footer in (
        Footer(compact=compact, show_command_palette=palette),
        KeysFooter(compact=compact, show_command_palette=palette),
    ):
        app = Keys(footer)
        async with app.run_test(size=(width, 5)) as pilot:
            await pilot.pause()
            rows.append(bottom_row(app))
    theirs, ours = rows
    text = "".join(c for c, _ in ours)
    assert text.startswith("a Apple" if compact else " a Apple")
    assert "Hidden" not in text and ("palette" in text) == palette
    assert ours == theirs


async def test_an_unavailable_key_is_dimmed_and_a_click_on_it_rings_instead_of_pressing() -> None:
    app = Keys(KeysFooter(compact=True))
    async with app.run_test(size=(100, 5)) as pilot:
        await pilot.pause()
        footer = app.query_one(KeysFooter)
        text = footer.render_line(0).text
        cherry = text.index("x Cherry")
        assert [item.action for item in footer.items].count("press('x')") == 1
        assert "dim" in str(bottom_row(app)[cherry][1]) and "dim" not in str(bottom_row(app)[0][1])
        await pilot.click(KeysFooter, offset=(text.index("Banana"), 0))
        await pilot.click(KeysFooter, offset=(cherry, 0))
        await pilot.pause()
        assert app.pressed == ["b"] and app.bells == 1


async def test_the_key_under_the_pointer_lights_up_and_shows_its_tooltip() -> None:
    app = Keys(KeysFooter(compact=True))
    async with app.run_test(size=(100, 5)) as pilot:
        await pilot.pause()
        before = bottom_row(app)
        await pilot.hover(KeysFooter, offset=(2, 0))
        await pilot.pause()
        footer = app.query_one(KeysFooter)
        lit = bottom_row(app)
        assert footer.tooltip == "Eat an apple"
        assert lit[0] != before[0] and lit[len("a Apple") + 2] == before[len("a Apple") + 2]
        await pilot.hover(Static)
        await pilot.pause()
        assert bottom_row(app) == before and footer.tooltip is None


async def test_keys_that_do_not_fit_scroll_sideways_with_the_wheel() -> None:
    app = Keys(KeysFooter(compact=True, show_command_palette=False))
    async with app.run_test(size=(12, 5)) as pilot:
        await pilot.pause()
        footer = app.query_one(KeysFooter)
        assert footer.render_line(0).text.startswith("a Apple")
        footer.post_message(events.MouseScrollDown(footer, 1, 0, 0, 1, 0, False, False, False))
        await pilot.pause()
        scrolled = footer.render_line(0).text
        assert scrolled.startswith("ple b") and len(scrolled) == 12
        for _ in range(20):  # no further than the last key
            footer.post_message(events.MouseScrollDown(footer, 1, 0, 0, 1, 0, False, False, False))
        await pilot.pause()
        assert footer.render_line(0).text.rstrip().endswith("again")
        footer.post_message(events.MouseScrollUp(footer, 1, 0, 0, -1, 0, False, False, False))
        await pilot.pause()
        assert not footer.render_line(0).text.rstrip().endswith("again")
