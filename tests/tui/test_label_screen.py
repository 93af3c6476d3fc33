"""A real labelling session driven from the keyboard, asserted on the database."""

import io
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap

from core.schema import Decision, PreferenceSource
from tui.app import make_app
from tui.screens.label import LabelScreen
from tui.widgets.search_bar import SearchBar


def human(ws):
    with ws.store() as store:
        return store.preferences(PreferenceSource.HUMAN)


async def test_each_key_decides_the_shown_pair_and_moves_on(labelled_ws):
    app = make_app(labelled_ws.root)
    expected = []
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LabelScreen)
        for key, decision in [
            ("1", "left"),
            ("2", "right"),
            ("3", "both_good"),
            ("4", "both_bad"),
            ("space", "skip"),
            ("1", "left"),
            ("2", "right"),
        ]:
            shown = app.screen.current
            expected.append((shown.pair.id, decision, shown.left.id, shown.right.id))
            await pilot.press(key)
            assert app.screen.current.pair.id != shown.pair.id  # moved on
    stored = {p.pair_id: p for p in human(labelled_ws)}
    assert len(stored) == 7
    for pair_id, decision, left, right in expected:
        pref = stored[pair_id]
        assert pref.left_id == left
        if decision == "left":
            assert (pref.decision, pref.chosen_id) == (Decision.PREFER, left)
        elif decision == "right":
            assert (pref.decision, pref.chosen_id) == (Decision.PREFER, right)
        else:
            assert (pref.decision.value, pref.chosen_id) == (decision, None)


async def test_undo_steps_back_and_forgets_the_decision(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(120, 40)) as pilot:
        first = app.screen.current.pair.id
        await pilot.press("1", "2")
        await pilot.press("backspace")
        assert len(human(labelled_ws)) == 1
        await pilot.press("backspace")
        assert human(labelled_ws) == [] and app.screen.current.pair.id == first
        await pilot.press("backspace")  # nothing left to undo: harmless
        assert app.screen.current.pair.id == first


async def test_reopening_resumes_at_the_first_undecided_pair_and_never_reshows_decided_ones(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        decided = []
        for _ in range(3):
            decided.append(app.screen.current.pair.id)
            await pilot.press("3")
        next_up = app.screen.current.pair.id
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.current.pair.id == next_up
        seen = set()
        while app.screen.current.pair.id not in seen:  # skipped pairs come back: until a repeat
            seen.add(app.screen.current.pair.id)
            await pilot.press("space")
            while app.decisions.pending:
                await pilot.pause(0.05)
        assert app.screen.current.pair.id == next_up  # the first skipped, once every pair was shown
    assert not seen & set(decided)


async def test_sides_are_not_the_checks_preference(labelled_ws):
    app = make_app(labelled_ws.root)
    lefts = []
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(12):
            lefts.append(app.screen.current.left_is_chosen)
            await pilot.press("space")
    assert 0 < sum(lefts) < len(lefts)  # both placements occur


async def test_keys_are_remapped_from_the_config(labelled_ws):
    labelled_ws.config_path.write_text(
        '[keys]\n"label.left" = "a"\n"label.right" = "b"\n"label.blind" = "z"\n"label.copy" = "c"\n'
    )
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        shown = app.screen.current
        await pilot.press("a")
        await pilot.press("z", "c")
        assert app.session.blind and app.clipboard == str(app.screen.current.pair.id)
        assert "z shows them" in str(app.screen.query_one("#reason").render())
    assert human(labelled_ws)[0].chosen_id == shown.left.id


async def test_tags_and_note_go_with_the_decision(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await pilot.press(*"2 7", "enter", *"looped", "enter")
        await pilot.press("4")
    pref = human(labelled_ws)[0]
    assert (pref.tags, pref.note, pref.decision) == (["2", "7"], "looped", Decision.BOTH_BAD)


async def test_help_lists_the_labelling_keys(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        keys = dict((d, k) for k, d in app.screen.keys)
        assert keys["Left better"] == "1" and keys["Undo"] in ("⌫", "backspace")
        assert keys["Blind"] == "b" and keys["Copy pair id"] == "y"
        order = [d for _, d in app.screen.keys]
        assert order.index("Left better") < order.index("Quit")  # the screen's keys first
        assert "Scroll Up" not in order  # no pane holds focus, so no scrolling keys of one


def test_a_killed_session_loses_no_decision(labelled_ws, tmp_path):
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal
        from pathlib import Path
        from tui.app import make_app

        async def main():
            app = make_app(Path({str(labelled_ws.root)!r}))
            async with app.run_test(size=(80, 24)) as pilot:
                for key in "1234":
                    await pilot.press(key)
                while "storing" in str(app.screen.query_one("#progress").render()):
                    await pilot.pause(0.05)  # killed once every decision shows as stored
                os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    rows = sqlite3.connect(labelled_ws.db_path).execute("SELECT decision FROM preferences").fetchall()
    assert sorted(r[0] for r in rows) == ["both_bad", "both_good", "prefer", "prefer"]


async def test_mining_runs_in_a_worker_and_refills_the_queue(tmp_path):

    from tests.tui.conftest import build_workspace

    ws = build_workspace(tmp_path / "ws")
    with ws.store() as store:
        store.db.execute("DELETE FROM pairs")
    app = make_app(ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("l")
        assert isinstance(app.screen, LabelScreen) and app.screen.current is not None


async def test_keys_answer_while_another_process_holds_the_lock_and_every_decision_lands(labelled_ws):
    holder = sqlite3.connect(labelled_ws.db_path, isolation_level=None)
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        holder.execute("BEGIN IMMEDIATE")  # a long import's transaction
        shown = []
        for key in "1234":
            shown.append(app.screen.current.pair.id)
            await pilot.press(key)
        assert len(set(shown)) == 4  # moved on each time, never re-offering a pending pair
        assert "storing 4…" in str(app.screen.query_one("#progress").render())
        assert human(labelled_ws) == []
        holder.execute("COMMIT")
        while app.decisions.pending:
            await pilot.pause(0.05)
        await pilot.pause(0.1)
        assert "storing" not in str(app.screen.query_one("#progress").render())
    assert sorted(p.pair_id for p in human(labelled_ws)) == sorted(shown)


async def test_a_pair_a_re_mine_dropped_under_the_screen_keeps_its_decision(labelled_ws):
    """Another `mine` drops the pair on screen: the decision is about two rollouts, so it is
    stored on the pair restored, and labelling goes on."""
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        shown = app.screen.current
        with labelled_ws.store() as store, store.write():
            store.db.execute("DELETE FROM pairs WHERE id = ?", [shown.pair.id])
        await pilot.press("1")
        while app.decisions.pending:
            await pilot.pause(0.05)
        await pilot.pause(0.1)
        assert not [n for n in app._notifications if "not stored" in n.message]
        assert app.screen.current is not None and app.screen.current.pair.id != shown.pair.id
        await pilot.press("backspace")  # undo reaches the decision where it landed
        while app.decisions.pending:
            await pilot.pause(0.05)
    assert human(labelled_ws) == []
    with labelled_ws.store() as store:
        restored = store.db.execute(
            "SELECT chosen_id, rejected_id FROM pairs WHERE pair_key = ?",
            ["|".join(sorted((shown.pair.chosen_id, shown.pair.rejected_id)))],
        ).fetchall()
    assert restored == [(shown.pair.chosen_id, shown.pair.rejected_id)]


async def test_a_read_only_workspace_says_why_a_decision_cannot_be_stored(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        app.store.read_only = True  # as Store finds a database it may not write
        shown = app.screen.current.pair.id
        await pilot.press("1")
        assert app.screen.current.pair.id == shown  # nothing decided, nothing lost
        assert any("read-only" in n.message for n in app._notifications)
    assert human(labelled_ws) == []


async def test_i_shows_the_task_of_the_pair_in_full(labelled_ws):
    from tui.screens.task_info import TaskScreen

    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        task_id = app.screen.current.pair.task_id
        with labelled_ws.store() as store:
            instruction = store.task(task_id).instruction
        await pilot.press("i")
        assert isinstance(app.screen, TaskScreen)
        shown = str(app.screen.query_one("Static").render())
        assert task_id in shown and instruction.strip().splitlines()[0] in shown and "may edit" in shown
        await pilot.press("escape")
        assert isinstance(app.screen, LabelScreen)


async def test_help_explains_the_badges_and_step_letters(labelled_ws):
    from rich.console import Console

    from tui.screens.help import HelpScreen, legend

    console = Console(width=110, record=True, file=io.StringIO())
    console.print(legend())
    shown = console.export_text()
    assert "NOSTOP" in shown and "stuck.no_stop" in shown and "R read" in shown
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        texts = [str(static.render()) for static in app.screen.query("Static")]
    assert any("under [keys]" in text for text in texts)  # text, not eaten as a markup tag


async def test_an_empty_queue_picks_up_pairs_another_process_mined(labelled_ws):
    from storage import service
    from tests.tui.conftest import wait_until

    with labelled_ws.store() as store:
        service.auto_label(store)  # every pair decided
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l")
        assert isinstance(app.screen, LabelScreen) and app.screen.current is None
        with labelled_ws.store() as store, store.write():  # another process: a pair to decide
            store.db.execute("DELETE FROM preferences WHERE id = (SELECT max(id) FROM preferences)")
        await wait_until(pilot, lambda: app.screen.current is not None, timeout=120)


def pending_pairs(ws, keep: int) -> list[int]:
    """Leave `keep` pairs to decide (the rest decided automatically); their ids, in queue order."""
    from storage import service

    with ws.store() as store:
        keep_ids = [p.id for p in sorted(store.pairs(pending_only=True), key=lambda p: (p.task_id, p.id))]
        with store.write():
            store.db.execute(
                f"DELETE FROM pairs WHERE id NOT IN ({', '.join('?' * keep)})"
                " AND id NOT IN (SELECT pair_id FROM preferences)",
                keep_ids[:keep],
            )
        service.auto_label(store)  # nothing left but the kept pairs... which auto_label takes too
        with store.write():
            store.db.execute(
                f"DELETE FROM preferences WHERE pair_id IN ({', '.join('?' * keep)})", keep_ids[:keep]
            )
    return keep_ids[:keep]


async def settle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    while app.decisions.pending:
        await pilot.pause(0.05)
    await pilot.pause(0.05)


def text_of(app, selector: str) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(widget.render()) for widget in app.screen.query(selector))


def panes_text(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(app.screen.pane(side).plain() for side in ("left", "right"))


async def test_a_skipped_pair_comes_back_after_the_others_and_after_a_restart(labelled_ws):
    first, second, third = pending_pairs(labelled_ws, 3)
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.current.pair.id == first
        await pilot.press("space")
        assert app.screen.current.pair.id == second  # the other pending pairs first
        await pilot.press("3")
        assert app.screen.current.pair.id == third
        await pilot.press("space")
        await settle(app, pilot)
        assert app.screen.current.pair.id == first  # then the skips, oldest first
        assert "(2 skipped)" in text_of(app, "#progress")
        await pilot.press("1")
        await settle(app, pilot)
        assert app.screen.current.pair.id == third
        await pilot.press("backspace")  # undo: the decision on the pair that had been skipped
        await settle(app, pilot)
        assert app.screen.current.pair.id == first
        assert [p.pair_id for p in human(labelled_ws)] == [second, third]
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:  # a restart
        assert isinstance(app.screen, LabelScreen) and app.screen.current.pair.id == first
        await pilot.press("2")
        assert app.screen.current.pair.id == third  # the skip did not hide it
        await pilot.press("4")
        await settle(app, pilot)
        assert app.screen.current is None
    decisions = {p.pair_id: p.decision for p in human(labelled_ws)}
    assert decisions == {first: Decision.PREFER, second: Decision.BOTH_GOOD, third: Decision.BOTH_BAD}


async def test_a_lone_skipped_pair_is_shown_again_at_once(labelled_ws):
    (only,) = pending_pairs(labelled_ws, 1)
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space")
        assert app.screen.current.pair.id == only  # not "every pair is decided" while it is stored
        await settle(app, pilot)
        assert app.screen.current.pair.id == only


async def test_blind_mode_hides_what_the_checks_think_and_is_recorded_with_each_decision(labelled_ws):
    from core.checks.badges import BADGES

    labelled_ws.config_path.write_text("[label]\nblind = true\n")
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, LabelScreen)
        shown = text_of(app, "#progress, #reason") + panes_text(app)
        assert "BLIND" in text_of(app, "#progress") and "blind" in text_of(app, "#reason")
        assert "checks:" not in shown and not re.search(r"score -?\d", shown) and "⚑" not in shown
        assert not [badge for badge in BADGES.values() if badge in shown]
        await pilot.press("1")  # decided blind
        await pilot.press("b")  # the checks shown: this pair is no longer blind
        shown = text_of(app, "#progress, #reason") + panes_text(app)
        assert "checks:" in text_of(app, "#reason") and re.search(r"score -?\d", shown)
        assert "BLIND" not in shown
        await pilot.press("b")  # hidden again, but they were seen
        await pilot.press("2")
        await pilot.press("3")  # blind throughout
        await pilot.press("b", "4")  # not blind
        await settle(app, pilot)
    recorded = [(p.decision.value, p.blind) for p in human(labelled_ws)]
    assert recorded == [("prefer", True), ("prefer", False), ("both_good", True), ("both_bad", False)]


async def test_the_ids_are_shown_and_y_copies_the_pair_id(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        shown = app.screen.current
        assert f"pair #{shown.pair.id}" in text_of(app, "#progress")
        left, right = (str(app.screen.query_one(f"#{side}").border_title) for side in ("left", "right"))
        assert shown.left.id in left and shown.right.id in right
        await pilot.press("y")
        assert app.clipboard == str(shown.pair.id)
        assert any(f"copied pair id {shown.pair.id}" in n.message for n in app._notifications)


# -- one screen to decide: instruction, both sides by key, full view, search, focus ------------


def screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """What the terminal shows, line by line."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_the_instruction_is_one_line_and_e_unfolds_it(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        task_id = app.screen.current.pair.task_id
        with labelled_ws.store() as store:
            instruction = store.task(task_id).instruction
        folded = text_of(app, "#instruction")
        assert "\n" not in folded and task_id in folded and instruction.split()[0] in folded
        assert app.screen.query_one("#instruction").size.height == 1
        await pilot.press("e")
        assert " ".join(text_of(app, "#instruction").split()).endswith(" ".join(instruction.split()))
        assert app.screen.query_one("#instruction").size.height > 1
        await pilot.press("1")  # kept unfolded on the next pair
        assert app.screen.query_one("#instruction").size.height > 1
        await pilot.press("e")
        assert "\n" not in text_of(app, "#instruction")


async def test_each_side_scrolls_on_its_own_keys(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        left, right = app.screen.pane("left"), app.screen.pane("right")
        assert left.max_scroll_y > 0 and right.max_scroll_y > 0  # 24 rows: neither side fits
        await pilot.press("j")
        assert left.scroll_offset.y > 0 and right.scroll_offset.y == 0
        await pilot.press("J", "J")
        assert right.scroll_offset.y > left.scroll_offset.y > 0
        await pilot.press("k")
        assert left.scroll_offset.y == 0
        await pilot.press("K", "K")
        assert right.scroll_offset.y == 0


async def test_each_side_scrolls_by_mouse_on_its_drawn_scrollbar_and_wheel(labelled_ws):
    """The panes draw their scrollbar themselves: a click below or above the thumb (a page) and
    a drag of the thumb scroll that side as Textual's ScrollBar does, and the wheel scrolls."""
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:  # 24 rows: neither side fits
        left, right = app.screen.pane("left"), app.screen.pane("right")
        content = left.scrollable_content_region
        bar_x = content.right - left.region.x - 1  # the bar's column, as an offset in the pane

        def at(row: int) -> tuple[int, int]:
            return bar_x, content.y - left.region.y + row

        await pilot.click("#left", offset=at(content.height - 1))  # below the thumb
        assert left.scroll_offset.y == content.height and right.scroll_offset.y == 0
        await pilot.click("#left", offset=at(0))  # above it now
        assert left.scroll_offset.y == 0
        await pilot.mouse_down("#left", offset=at(0))  # on the thumb, dragged down two rows
        await pilot.hover("#left", offset=at(2))
        await pilot.mouse_up("#left", offset=at(2))
        assert left.scroll_offset.y == round(2 * left.virtual_size.height / content.height)
        assert left.allow_vertical_scroll and right.allow_vertical_scroll  # what the wheel asks


async def test_d_jumps_each_side_to_its_diff_and_back(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        left, right = app.screen.pane("left"), app.screen.pane("right")
        await pilot.press("d")
        assert left.scroll_offset.y == min(left.diff_row, left.max_scroll_y) > 0
        assert right.scroll_offset.y == 0
        assert "final diff" in screen_text(app)
        await pilot.press("D")
        assert right.scroll_offset.y == min(right.diff_row, right.max_scroll_y) > 0
        await pilot.press("d")  # at the diff already: back to the top
        assert left.scroll_offset.y == 0
        await pilot.press("1")  # a new pair starts at the top
        assert right.scroll_offset.y == 0


async def test_timeline_lines_are_cut_to_the_width_from_the_first_pair_on(labelled_ws):
    """The first pair was once built before the layout, at a guessed width, and wrapped."""
    from tui.widgets.pair_pane import PairPane

    for size in ((160, 48), (80, 24), (200, 50)):
        app = make_app(labelled_ws.root)
        async with app.run_test(size=size) as pilot:
            for _ in range(2):
                for pane in app.screen.query(PairPane):
                    width = pane.lines_width  # the content, less the scrollbar drawn in it
                    assert pane._width == width
                    steps = [line for line in pane._lines if line.step is not None]
                    assert steps and all(line.text.cell_len <= width for line in steps)
                    assert pane.virtual_size.height < len(pane._lines) + 40  # no timeline line wraps
                await pilot.press("space")


async def test_o_opens_a_side_full_screen_and_escape_comes_back_to_the_same_pair(labelled_ws):
    from tui.screens.rollout_detail import RolloutDetailScreen

    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        label = app.screen
        shown = label.current
        await pilot.press("j", "J", "J")
        where = (label.pane("left").scroll_offset.y, label.pane("right").scroll_offset.y)
        first_on_screen = label.pane("left").step_to_open()
        await pilot.press("o")
        assert isinstance(app.screen, RolloutDetailScreen) and app.screen.rollout_id == shown.left.id
        assert app.screen.step_position == first_on_screen  # opened where the side was read
        await pilot.press("j", "escape")
        assert app.screen is label and label.current.pair.id == shown.pair.id
        assert (label.pane("left").scroll_offset.y, label.pane("right").scroll_offset.y) == where
        await pilot.press("O")
        assert isinstance(app.screen, RolloutDetailScreen) and app.screen.rollout_id == shown.right.id
        await pilot.press("escape")
        assert app.screen is label and app.focused is None
        await pilot.press("1")  # the keys decide as before
    assert human(labelled_ws)[0].chosen_id == shown.left.id


async def test_a_side_opened_blind_shows_no_score_flag_or_mark(labelled_ws):
    from core.checks.badges import BADGES
    from tui.screens.rollout_detail import RolloutDetailScreen

    labelled_ws.config_path.write_text("[label]\nblind = true\n")
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(120, 40)) as pilot:
        shown = app.screen.current
        flagged = next(side for side in ("left", "right") if getattr(shown, side).flags)
        await pilot.press("o" if flagged == "left" else "O")
        detail = app.screen
        assert isinstance(detail, RolloutDetailScreen) and detail.blind
        header = str(detail.query_one("#detail-header").render())
        timeline = "\n".join(
            str(detail.timeline.get_option_at_index(i).prompt) for i in range(detail.timeline.option_count)
        )
        flags = str(detail.flag_list.get_option_at_index(0).prompt)
        step = str(detail.step_view.renderable.renderables[0])  # the step's title line
        shown_text = "\n".join((header, timeline, flags, step, str(detail.flag_list.border_title)))
        assert not re.search(r"score -?\d", header) and "blind" in header and "hidden" in flags
        assert "⚑" not in shown_text and not [b for b in BADGES.values() if f" {b} " in shown_text]
        assert detail.check_action("next_flagged", ()) is None  # nothing to jump to
        await pilot.press("escape")
        await pilot.press("b")  # not blind: the same side shows its flags
        await pilot.press("o" if flagged == "left" else "O")
        assert not app.screen.blind and re.search(
            r"score -?\d", str(app.screen.query_one("#detail-header").render())
        )


async def test_slash_searches_both_sides_and_full_stop_moves_through_the_matches(labelled_ws):
    from tui.screens.rollouts import RolloutsScreen

    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        label = app.screen
        left, right = label.pane("left"), label.pane("right")
        word = next(
            w for w in ("read_file", "list_files", "src/pkg") if w in left.plain() and w in right.plain()
        )
        assert not label.query(SearchBar)  # mounted on the first `/`
        await pilot.press("slash")
        assert app.focused is label.query_one(SearchBar)
        await pilot.press(*word, "enter")
        assert app.focused is None and not label.searching
        assert left.matches and right.matches and label.found == ("left", 0)
        assert left.current == 0 and right.current is None
        total = len(left.matches) + len(right.matches)
        seen = [label.found]
        for _ in range(total):
            await pilot.press("full_stop")
            seen.append(label.found)
        assert seen[-1] == ("left", 0) and len(set(seen)) == total  # every match once, then round
        assert ("right", 0) in seen
        await pilot.press("comma")
        assert label.found == ("right", len(right.matches) - 1)
        row = left._starts[left.matches[left.current or 0]]
        assert left.scroll_offset.y <= row < left.scroll_offset.y + left.scrollable_content_region.height
        await pilot.press("escape")  # clears the search
        assert not left.matches and label.found is None and isinstance(app.screen, LabelScreen)
        await pilot.press("escape")  # then leaves
        assert isinstance(app.screen, RolloutsScreen)


async def test_a_search_finds_what_only_a_step_s_full_output_holds(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        label = app.screen
        left = label.pane("left")
        rollout = label.current.left
        shown = left.plain()
        position, word = next(
            (pos, line.strip())
            for pos, step in enumerate(rollout.steps)
            if pos >= left.start and step.observation
            for line in step.observation.content.splitlines()[1:]
            if len(line.strip()) > 6 and line.strip() not in shown
        )
        await pilot.press("slash", *word, "enter")
        assert any(left._lines[m].step == position for m in left.matches)
        await pilot.press("escape")
        await pilot.press("slash", *"no such text anywhere", "enter")
        assert label.found is None and any("no match" in n.message for n in app._notifications)


async def test_o_opens_at_the_current_match_with_the_search_on(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        label = app.screen
        await pilot.press("slash", *"list_files", "enter")
        await pilot.press("full_stop")
        left = label.pane("left")
        step = left._lines[left.matches[left.current]].step
        await pilot.press("o")
        await pilot.pause()
        detail = app.screen
        assert detail.step_position == step and detail.search_text == "list_files"
        assert step in detail.timeline.found
        await pilot.press("n")
        assert detail.step_position != step


async def test_focus_is_on_no_widget_after_a_decision_a_detail_or_a_modal(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LabelScreen) and app.focused is None
        await pilot.press("1")
        assert app.focused is None
        for opening, closing in (
            ("o", "escape"),
            ("n", "escape"),
            ("i", "escape"),
            ("question_mark", "escape"),
        ):
            await pilot.press(opening)
            assert not isinstance(app.screen, LabelScreen)
            await pilot.press(closing)
            assert isinstance(app.screen, LabelScreen) and app.focused is None, opening
        await pilot.press("slash", "x", "escape")  # a search cancelled
        assert app.focused is None
        await pilot.press("tab")  # nothing to focus: keys still answer the same
        await pilot.press("j")
        assert app.screen.pane("left").scroll_offset.y > 0
        shown = app.screen.current.pair.id
        await pilot.press("2")
        assert app.screen.current.pair.id != shown and app.focused is None


async def test_the_new_keys_are_remapped_and_listed_in_help(labelled_ws):
    labelled_ws.config_path.write_text(
        '[keys]\n"label.left_down" = "x"\n"label.right_diff" = "z"\n"label.left_open" = "w"\n'
        '"label.find" = "f"\n"label.find_next" = "g"\n"label.expand" = "E"\n'
    )
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        label = app.screen
        await pilot.press("x")
        assert label.pane("left").scroll_offset.y > 0
        await pilot.press("z")
        assert label.pane("right").scroll_offset.y > 0
        assert "x/k scroll" in str(label.pane("left").border_title)
        assert "z diff" in str(label.pane("right").border_title)
        await pilot.press("E")
        assert label.instruction_open
        await pilot.press("f", *"read_file", "enter", "g")
        assert label.found not in (None, ("left", 0))
        await pilot.press("w")
        assert type(app.screen).__name__ == "RolloutDetailScreen"
        await pilot.press("escape", "question_mark")
        keys = dict((d, k) for k, d in app.screen.keys)
    assert keys["Left side down"] == "x" and keys["Right side: its diff / top"] == "z"
    assert keys["Left side full-screen"] == "w" and keys["Find"] == "f" and keys["Next match"] == "g"
    for description in ("Right side up", "Previous match", "Instruction: unfold/fold", "Task", "Tags/note"):
        assert description in keys


async def test_at_80_columns_the_footer_keeps_the_decisions_and_points_to_help(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)):
        footer = screen_text(app).splitlines()[-1]
    for shown in (
        "1 Left better",
        "2 Right better",
        "3 Both good",
        "4 Both bad",
        "Skip",
        "Undo",
        "/ Find",
        "? Keys",
    ):
        assert shown in footer


async def test_the_instruction_and_a_search_from_data_reach_the_terminal_visible(labelled_ws):
    evil = "fix it\x1b]0;pwned\x07 \u202eevil\x1b[2J [link=x]l[/link]\nsecond line"
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        task_id = app.screen.current.pair.task_id
        with labelled_ws.store() as store, store.write():
            store.db.execute("UPDATE tasks SET instruction = ? WHERE id = ?", [evil, task_id])
        app.screen._tasks.clear()
        app.screen._draw_instruction()
        for keys in ((), ("e",)):
            await pilot.press(*keys)
            shown = screen_text(app)
            assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
            assert "\\x1b]0;pwned" in shown and "[link=x]" in shown
        app.screen.search("\x1b[2J\u202e")
        await pilot.pause()
        shown = screen_text(app)
        assert "\x1b" not in shown and "\u202e" not in shown


async def test_both_sides_open_in_one_kept_detail_screen(labelled_ws):
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        shown = app.screen.current
        await pilot.press("o")
        left = app.screen
        await pilot.press("escape", "O")
        assert app.screen is left and left.rollout_id == shown.right.id  # loaded again, not rebuilt
        assert left.rollout is shown.right
        await pilot.press("escape", "1", "o")
        assert app.screen is left and left.rollout_id == app.screen_stack[-2].current.left.id


async def test_the_history_column_grows_with_the_decisions_and_keeps_its_undo_hint(labelled_ws):
    """Its text is updated without a relayout where its height stays; a new line must still get
    a row, or the newest decision and the undo hint fall below the column's edge."""
    from textual.widgets import Static

    app = make_app(labelled_ws.root)
    async with app.run_test(size=(160, 48)) as pilot:
        history = app.screen.query_one("#history", Static)
        for _ in range(5):
            await pilot.press("1")
        await pilot.pause()
        lines = str(history.render()).count("\n") + 1
        assert lines >= 8  # title, five decisions, a blank line, the undo hint
        assert history.content_region.height >= lines
