"""A real labelling session driven from the keyboard, asserted on the database."""

import io
import signal
import sqlite3
import subprocess
import sys
import textwrap

from core.schema import Decision, PreferenceSource
from tui.app import make_app
from tui.screens.label import LabelScreen


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
        while app.screen.current is not None:
            seen.add(app.screen.current.pair.id)
            await pilot.press("space")
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
    labelled_ws.config_path.write_text('[keys]\n"label.left" = "a"\n"label.right" = "b"\n')
    app = make_app(labelled_ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        shown = app.screen.current
        await pilot.press("a")
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
