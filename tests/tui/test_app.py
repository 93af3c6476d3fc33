"""The app shell: what it says at start, whatever screen comes first."""

from core.agent.confinement import NAMESPACES, RLIMITS
from tests.tui.conftest import wait_until
from tui.app import make_app


async def test_an_unconfined_machine_gets_a_banner_that_stays(labelled_ws, force_isolation):
    force_isolation(RLIMITS)
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: any(n.title == "unconfined" for n in app._notifications))
        (banner,) = [n for n in app._notifications if n.title == "unconfined"]
        assert "rlimits only" in banner.message and "bubblewrap" in banner.message
        assert banner.severity == "warning" and banner.timeout >= 3600


async def test_a_confined_machine_gets_no_banner(labelled_ws, force_isolation):
    force_isolation(NAMESPACES)
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.sandbox is not None)
        await pilot.pause()
        assert app.sandbox == NAMESPACES
        assert not [n for n in app._notifications if n.title == "unconfined"]


async def test_garbage_is_collected_once_keys_stop_and_not_while_idle(labelled_ws, force_isolation):
    force_isolation(NAMESPACES)
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("r", "escape")
        await wait_until(pilot, lambda: app.collector.collections == 1)
        await pilot.pause(2.5)  # more than a second with no key: nothing new to collect
        assert app.collector.collections == 1
