"""The agreement screen (`a`): the tables, the queues, and adjudication from the keyboard."""

from core.agreement.report import AgreementReport
from tests.tui.conftest import vote, wait_until
from tui.app import make_app
from tui.screens.agreement import AdjudicateScreen, AgreementScreen

ALICE = ["proposed", "proposed", "other", "proposed", "both_bad", "proposed"]
BOB = ["proposed", "other", "other", "both_good", "both_bad", "other"]  # differs on 1, 3, 5


def adjudications(ws):
    with ws.store() as store:
        return store.db.execute(
            "SELECT pair_id, annotator, decision FROM preferences WHERE adjudicated = 1 ORDER BY pair_id"
        ).fetchall()


async def open_agreement(app, pilot) -> AgreementScreen:
    await pilot.press("a")
    screen = app.screen
    assert isinstance(screen, AgreementScreen)
    await wait_until(pilot, lambda: screen.report is not None, timeout=60)
    await pilot.pause()
    return screen


async def test_the_screen_shows_kappa_the_checks_and_the_conflicts_then_adjudicates_one(labelled_ws):
    pairs = vote(labelled_ws, "alice", ALICE)
    vote(labelled_ws, "bob", BOB)
    conflicting = [pairs[i].id for i in (1, 3, 5)]
    app = make_app(labelled_ws.root, annotator="carol")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_agreement(app, pilot)
        assert isinstance(screen.report, AgreementReport)
        assert screen.table("pairwise").row_count == 1  # alice / bob
        assert screen.table("checks").row_count == len(screen.report.checks) > 0
        assert screen.queue == conflicting and screen.table("queue").row_count == 3
        assert screen.report.pairwise[0].shared == 6 and screen.report.pairwise[0].agreed == 3

        await pilot.press("enter")  # the queue has focus: adjudicate from its first pair
        assert isinstance(app.screen, AdjudicateScreen)
        shown = app.screen.current
        assert shown is not None and shown.pair.id == conflicting[0]
        await pilot.press("1")  # the left side, as labelling decides it
        await wait_until(pilot, lambda: not app.decisions.pending, timeout=60)
        assert app.screen.current.pair.id == conflicting[1]  # on to the next conflict
        assert adjudications(labelled_ws) == [(conflicting[0], "carol", "prefer")]
        with labelled_ws.store() as store:
            (pref,) = [p for p in store.preferences() if p.adjudicated]
        assert pref.chosen_id == shown.left.id

        await pilot.press("escape")  # back to the agreement screen, which reads the report again
        assert app.screen is screen
        await wait_until(pilot, lambda: screen.queue == conflicting[1:], timeout=60)
        assert screen.table("queue").row_count == 2


async def test_a_check_shows_the_pairs_where_people_overruled_it(labelled_ws):
    vote(labelled_ws, "alice", ALICE)
    vote(labelled_ws, "bob", BOB)
    app = make_app(labelled_ws.root, annotator="carol")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_agreement(app, pilot)
        overruled = next(i for i, t in enumerate(screen.report.checks) if t.disagreements)
        screen.table("checks").focus()
        screen.table("checks").move_cursor(row=overruled)
        await pilot.press("d")
        trust = screen.report.checks[overruled]
        assert screen.check == trust.check
        assert screen.queue == sorted({d.pair_id for d in trust.disagreements})
        await pilot.press("c")
        assert screen.check is None and screen.queue == [c.pair_id for c in screen.report.conflicts]


async def test_the_screen_is_listed_in_help_and_survives_hostile_names(labelled_ws):
    vote(labelled_ws, "alice\x1b]52;c;AAAA\x07[@click=app.quit]x[/]", ALICE)
    vote(labelled_ws, "bob", BOB)
    app = make_app(labelled_ws.root, annotator="carol")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert ("a", "Agreement") in app.screen.keys
        await pilot.press("escape")
        screen = await open_agreement(app, pilot)
        cell = screen.table("pairwise").get_row_at(0)[0]
        assert "\x1b" not in cell.plain and "\x07" not in cell.plain
        assert app.is_running  # the markup in the name was not read as a click action


async def test_adjudication_skips_store_nothing_and_undo_takes_back_only_the_adjudication(labelled_ws):
    pairs = vote(labelled_ws, "alice", ALICE)
    vote(labelled_ws, "bob", BOB)
    app = make_app(labelled_ws.root, annotator="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_agreement(app, pilot)
        await pilot.press("enter")
        assert app.screen.current.pair.id == pairs[1].id
        assert "alice adjudicating" in str(app.screen.query_one("#progress").render())
        await pilot.press("space")  # skip: on to the next, nothing stored
        assert app.screen.current.pair.id == pairs[3].id
        await pilot.press("4")
        await wait_until(pilot, lambda: not app.decisions.pending, timeout=60)
        assert adjudications(labelled_ws) == [(pairs[3].id, "alice", "both_bad")]
        await pilot.press("backspace")
        await wait_until(pilot, lambda: not app.decisions.pending, timeout=60)
        assert adjudications(labelled_ws) == [] and app.screen.current.pair.id == pairs[3].id
        assert not [n for n in app._notifications if n.severity == "error"]
    with labelled_ws.store() as store:  # alice's own votes are untouched
        votes = store.db.execute(
            "SELECT count(*) FROM preferences WHERE annotator = 'alice' AND adjudicated = 0"
        ).fetchone()
    assert votes == (len(ALICE),)
