"""The rollout list: a virtual table, filtering, sorting, flag counts; the empty workspace."""

from core.schema import PreferenceSource
from storage.workspace import Workspace
from tui.app import make_app
from tui.screens.empty import EmptyScreen
from tui.screens.rollouts import RolloutsScreen


async def open_rollouts(app, pilot):
    await pilot.press("r")
    assert isinstance(app.screen, RolloutsScreen)
    return app.screen


async def test_list_filter_sort_and_counts(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_rollouts(app, pilot)
        assert screen.table.total == 48
        await pilot.press("slash", *"flag:loop")
        with labelled_ws.store() as store:
            looped = store.scalar(
                "SELECT count(DISTINCT rollout_id) FROM flags WHERE check_id = 'loop.repeat'"
            )
        assert screen.table.total == looped > 0
        assert "LOOP" in str(screen.query_one("#flag-counts").render())
        await pilot.press("escape")
        assert screen.table.total == 48
        for _ in range(3):  # task -> policy -> steps -> score
            await pilot.press("s")
        scores = [screen.table.row(i)["score"] for i in range(48)]
        assert scores == sorted(scores)
        await pilot.press("S")
        assert screen.table.row(0)["score"] == max(scores)


async def test_a_flag_filter_that_names_no_check_says_so(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_rollouts(app, pilot)
        await pilot.press("slash", *"flag:NORERUNX")
        await pilot.pause()
        title = str(screen.query_one("#rollouts-title").render())
        assert screen.table.total == 0 and "flag:NORERUNX names no check" in title
        await pilot.press("backspace")
        await pilot.pause()
        assert "names no check" not in str(screen.query_one("#rollouts-title").render())


async def test_cursor_moves_and_pages_load_on_demand(tmp_path):
    from tests.tui.conftest import build_workspace

    ws = build_workspace(tmp_path / "big", rollouts=450)
    app = make_app(ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_rollouts(app, pilot)
        assert screen.table.total == 450
        assert len(screen.table._pages) <= 1  # only what is on screen was read
        await pilot.press("G")
        assert screen.table.cursor == 449 and screen.table.current_id()
        await pilot.press("k", "k", "g")
        assert screen.table.cursor == 0


async def test_an_empty_workspace_shows_how_to_start(tmp_path):
    ws = Workspace.create(tmp_path / "empty")
    app = make_app(ws.root)
    async with app.run_test(size=(80, 24)):
        assert isinstance(app.screen, EmptyScreen)
        text = str(app.screen.query_one("#empty").render())
        assert "agentpref-tui --demo" in text and "import" in text


async def test_opens_on_rollouts_when_nothing_is_pending(labelled_ws):
    with labelled_ws.store() as store:
        from storage.service import auto_label

        auto_label(store)
        assert store.preferences(PreferenceSource.AUTO)
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)):
        assert isinstance(app.screen, RolloutsScreen)


def test_an_outcome_the_agents_own_tests_disagree_with_is_marked():
    from tui.widgets.rollout_table import RolloutTable

    row = {
        "task_id": "t1",
        "policy": "scored",
        "n_steps": 3,
        "score": 1.0,
        "flags": "",
        "tests_passed": 0,
        "tests_passed_own": 1,
        "source_format": "agentpref-harness",
        "eval_id": None,
    }
    assert " fail* " in RolloutTable._row_text(row).plain
    for own in (0, None):
        assert " fail " in RolloutTable._row_text({**row, "tests_passed_own": own}).plain


async def test_the_list_draws_with_no_color(labelled_ws, monkeypatch):
    # NO_COLOR strips colours from every style Textual composes: a blank row with no style
    # at all crashed the compositor.
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 60)) as pilot:
        screen = await open_rollouts(app, pilot)
        await pilot.press("end", "home")
        await pilot.pause()
        assert screen.table.total == 48 and app.is_running


async def test_the_header_scrolls_sideways_with_the_rows(labelled_ws):
    from tui.widgets.rollout_table import WIDTHS, RolloutTable

    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_rollouts(app, pilot)
        table = screen.table
        for _ in range(3):
            await pilot.press("right")  # a table wider than the screen scrolls
        await pilot.press("G")  # and the cursor's row, the last, stays in sight under the header
        await pilot.pause()
        scroll_x = int(table.scroll_offset.x)
        assert scroll_x > 0
        header = table.render_line(0).text
        flags_at = sum(width + 1 for name, width in WIDTHS[: [n for n, _ in WIDTHS].index("flags")])
        assert header[flags_at - scroll_x :].startswith("flags")
        last = table.size.height - 1
        row = RolloutTable._row_text(table.row(table.total - 1)).plain
        assert table.render_line(last).text == row[scroll_x : scroll_x + table.size.width].ljust(
            table.size.width
        )
        assert table.cursor == table.total - 1
