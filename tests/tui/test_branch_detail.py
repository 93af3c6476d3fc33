"""A branched rollout in the detail screen: its parent and step, `p` to the parent, `b` only
where the task can be run."""

from __future__ import annotations

from core.schema import Observation, Step, ToolCall
from storage.store import Store
from tests.tui.test_rollout_detail import DetailApp, detail, insert, rollout


def branched(store: Store) -> None:
    parent = rollout("r1")
    child_steps = [s.model_copy(deep=True) for s in parent.steps[:2]] + [
        Step(
            index=2,
            tool_call=ToolCall(name="run_tests", arguments={}),
            observation=Observation(content="1 failed", exit_code=1),
        )
    ]
    child = rollout("b1", steps=child_steps).model_copy(update={"parent_id": "r1", "branch_step": 2})
    insert(store, parent, child)


async def test_a_branch_names_its_parent_and_step_and_p_opens_the_parent(store: Store) -> None:
    branched(store)
    app = DetailApp(store, "b1")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        header = str(app.screen.query_one("#detail-header").render())
        assert "branch of r1 at step 3" in header
        await pilot.press("p")
        await pilot.pause()
        assert detail(app).rollout_id == "r1"
        assert "branch of" not in str(app.screen.query_one("#detail-header").render())


async def test_branching_is_offered_only_for_a_task_the_workspace_can_run(store: Store) -> None:
    branched(store)
    app = DetailApp(store, "r1")  # task t1 has no repository here: an import
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = detail(app)
        assert screen.check_action("branch", ()) is None  # greyed out in the footer
        assert screen.check_action("parent", ()) is None  # not a branch
        await pilot.press("b")
        await pilot.pause()
        assert len(app.workers) == 0
