"""Two people labelling one workspace at the same time: two apps, two connections, one file."""

import pytest

from tests.tui.conftest import wait_until
from tui.app import make_app


def decisions(ws):
    with ws.store() as store:
        return store.db.execute(
            "SELECT pair_id, annotator, decision, chosen_id FROM preferences WHERE source = 'human'"
            " ORDER BY annotator, pair_id"
        ).fetchall()


def set_overlap(ws, overlap: int) -> None:
    text = ws.config_path.read_text()
    ws.config_path.write_text(text.replace("overlap = 1 ", f"overlap = {overlap} "))
    assert ws.config().label.overlap == overlap


@pytest.mark.parametrize("overlap", [1, 2])
async def test_two_apps_labelling_at_once_lose_and_overwrite_nothing(labelled_ws, overlap):
    set_overlap(labelled_ws, overlap)
    alice = make_app(labelled_ws.root, annotator="alice")
    bob = make_app(labelled_ws.root, annotator="bob")
    keys = ["1", "2", "3", "4", "1", "2", "1", "2"]
    expected: dict[tuple[int, str], tuple[str, str | None]] = {}
    async with alice.run_test(size=(80, 24)) as a, bob.run_test(size=(80, 24)) as b:
        assert alice.session.overlap == bob.session.overlap == overlap
        for key in keys:  # in turn, each pressing while the other's decision may be in flight
            for app, pilot in ((alice, a), (bob, b)):
                shown = app.screen.current
                assert shown is not None
                chosen = {"1": shown.left.id, "2": shown.right.id}.get(key)
                decision = {"3": "both_good", "4": "both_bad"}.get(key, "prefer")
                expected[(shown.pair.id, app.session.annotator)] = (decision, chosen)
                await pilot.press(key)
        assert "alice" in str(alice.screen.query_one("#progress").render())
        for app, pilot in ((alice, a), (bob, b)):
            await wait_until(pilot, lambda app=app: not app.decisions.pending, timeout=120)
    # Both opened at once on the same first pair, so with overlap 1 they may decide the same pairs:
    # each decision is kept beside the other's, as a second vote.
    stored = {(pair_id, who): (decision, chosen) for pair_id, who, decision, chosen in decisions(labelled_ws)}
    assert stored == expected
    assert len(stored) == 2 * len(keys)
