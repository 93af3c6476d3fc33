"""The next pair is prepared while the person reads: swapping it in shows exactly what building
it on the key would have, and a pair that is not the one prepared is built as before."""

from textual.strip import Strip

from tests.tui.conftest import accept_automatically, wait_until
from tui.app import make_app
from tui.screens.label import LabelScreen
from tui.widgets.pair_pane import PairPane


def drawn(screen: LabelScreen) -> list[str]:
    """Every row of both panes as drawn (text and style), top of each side."""
    rows = []
    for side in ("left", "right"):
        pane = screen.query_one(f"#{side}", PairPane)
        for y in range(pane.scrollable_content_region.height):
            strip: Strip = pane.render_line(y)
            rows.append("".join(f"{segment.text}{segment.style}" for segment in strip))
    return rows


async def prepared_and_built(ws, size):  # type: ignore[no-untyped-def]
    """(what the next pair looks like swapped in, built on the key, the pairs shown)."""
    looks, shown = {}, {}
    for prepare in (True, False):
        app = make_app(ws.root)
        async with app.run_test(size=size) as pilot:
            screen = app.screen
            assert isinstance(screen, LabelScreen)
            if prepare:
                await wait_until(pilot, lambda s=screen: s._next is not None, timeout=30)
            else:
                screen._prepare_timer.stop()
            ready = screen._next
            await pilot.press("1")
            await pilot.pause()
            shown[prepare] = screen.current.pair.id
            if prepare:  # swapped in: the lines built in the worker are the ones drawn
                assert ready is not None and screen.pane("left")._lines is ready.sides["left"].lines
            looks[prepare] = (drawn(screen), screen.pane("left").plain(), screen.pane("right").plain())
        with ws.store() as store, store.write():
            store.db.execute("DELETE FROM preferences")  # the same queue again
    return looks[True], looks[False], shown


async def test_the_pair_prepared_in_the_background_is_the_next_one_and_looks_the_same(labelled_ws):
    for size in ((80, 24), (160, 48)):
        swapped, built, shown = await prepared_and_built(labelled_ws, size)
        assert shown[True] == shown[False]
        assert swapped == built


async def test_a_pair_prepared_for_another_queue_is_not_shown(labelled_ws):
    """Another process decided the prepared pair meanwhile: the key shows the queue's next."""
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        assert isinstance(screen, LabelScreen)
        await wait_until(pilot, lambda: screen._next is not None, timeout=30)
        prepared = screen._next.shown.pair.id
        with labelled_ws.store() as other:
            accept_automatically(other, [other.pair(prepared)])
        await pilot.press("1")
        await pilot.pause()
        assert screen.current is not None and screen.current.pair.id != prepared
