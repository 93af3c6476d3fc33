"""The Eval screen on a real evaluation: the table, the drill-down to rollouts, compare, start."""

import re

from textual.widgets import DataTable, Static

from storage import evals
from tests.tui.conftest import wait_until
from tui.app import make_app
from tui.screens.eval_compare import EvalCompareScreen
from tui.screens.eval_drill import EvalDrillScreen
from tui.screens.evaluate import EvalScreen
from tui.screens.rollout_detail import RolloutDetailScreen


def rows(table):
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def select_eval(pilot, screen, eval_id):
    """Other tests add evaluations to the shared workspace: pick this one by id, not by place."""
    table = screen.query_one("#evals-table", DataTable)
    ids = [r[0].removeprefix("● ") for r in rows(table)]
    table.move_cursor(row=ids.index(eval_id))
    await pilot.pause()
    return ids.index(eval_id)


async def test_modes_table_and_drill_down_to_a_rollout(looped_ws):
    ws, result = looped_ws["ws"], looped_ws["result"]
    app = make_app(ws.root)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, EvalScreen)
        await select_eval(pilot, screen, result["eval_id"])
        table = screen.query_one("#modes-table", DataTable)
        shown = {r[0]: r for r in rows(table)}
        own = {"own tests pass"} if "pass_rate_own_tests" in result else set()
        assert set(result["modes"]) | {"overall", "tests pass"} | own == set(shown)
        mode = next(m for m, e in result["modes"].items() if e["before"] or e["after"])
        assert shown[mode][1].strip() == f"{result['modes'][mode]['before']:.1%}"
        assert shown[mode][5] == f"{result['modes'][mode]['p_value_adjusted']:.2g}"  # the p the verdict used
        assert shown[mode][6] == result["modes"][mode]["verdict"]

        table.focus()
        table.move_cursor(row=list(shown).index(mode))
        await pilot.press("enter")
        drill = app.screen
        assert isinstance(drill, EvalDrillScreen)
        with ws.store() as store:
            flagged_before = [
                s for s in evals.summaries(store, result["eval_id"], "before") if mode in s.flags
            ]
        assert f"{len(flagged_before)} of" in str(drill.query_one("#drill-title", Static).render())
        drill_table = drill.query_one("#drill-table", DataTable)
        assert drill_table.row_count >= max(1, len(flagged_before))
        await pilot.press("enter")
        assert isinstance(app.screen, RolloutDetailScreen)
        opened = app.screen.rollout_id
        first_before, first_after = drill.cells[0]
        chosen = first_before or first_after
        assert chosen is not None and opened == chosen.id


async def test_two_evaluations_compare_and_a_new_one_starts_detached(looped_ws):
    ws, tasks = looped_ws["ws"], looped_ws["tasks"]
    text = ws.config_path.read_text()
    text = re.sub(r'^tasks = "heldout"', f'tasks = "{",".join(tasks)}"', text, flags=re.M)
    ws.config_path.write_text(
        re.sub(r"^n = 8 ( *# rollouts per task and side)", r"n = 1 \1", text, flags=re.M)
    )
    app = make_app(ws.root)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("v")
        screen = app.screen
        before = screen.query_one("#evals-table", DataTable).row_count
        assert before >= 1
        await pilot.press("e")  # evaluates the latest finished run in a detached process
        await wait_until(pilot, lambda: screen.query_one("#evals-table", DataTable).row_count == before + 1)
        await wait_until(
            pilot,
            lambda: rows(screen.query_one("#evals-table", DataTable))[0][2] in ("finished", "failed"),
            timeout=900,
        )
        newest = rows(screen.query_one("#evals-table", DataTable))[0]
        assert newest[2] == "finished" and newest[3] == "4/4"

        table = screen.query_one("#evals-table", DataTable)
        table.focus()
        await select_eval(pilot, screen, looped_ws["result"]["eval_id"])
        await pilot.press("space")
        table.move_cursor(row=0)
        await pilot.pause()
        await pilot.press("d")
        assert isinstance(app.screen, EvalCompareScreen)
        n = app.screen.result.n
        assert (n.before, n.after) == (4, 2)  # the marked eval's tuned side first
