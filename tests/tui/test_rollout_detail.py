"""The rollout detail screen: navigation, flags, folding, nasty tool output, both layouts."""

from __future__ import annotations

import io
import re
import time

import pytest
from rich.console import Console, RenderableType
from rich.syntax import Syntax
from textual.app import App
from textual.strip import Strip

from core.schema import Flag, Observation, Rollout, Source, Step, ToolCall
from storage import rows
from storage.store import Store
from tui.screens.rollout_detail import RolloutDetailScreen
from tui.widgets import step_view
from tui.widgets.keys_footer import FooterItem, KeysFooter
from tui.widgets.step_view import FOLD_LINES, fold, observation_lexer, step_renderable

LONG = "\n".join(f"line {i}" for i in range(500))
NASTY_HEAD = "\x1b[31mFAILED\x1b[0m test_a \u2400 bell\x07\n"
HUGE = NASTY_HEAD + ("x" * 99 + "\n") * 100_000  # 10 MB


def insert(store: Store, *rollouts: Rollout) -> None:
    batch = [rows.prepared(r, rows.compress(rows.STEPS.dump_json(r.steps)), 0) for r in rollouts]
    store.insert_rollouts(batch)


def bash(index: int, command: str, output: str, exit_code: int = 0) -> Step:
    return Step(
        index=index,
        thought=f"step {index}",
        tool_call=ToolCall(name="bash", arguments={"command": command}),
        observation=Observation(content=output, exit_code=exit_code),
    )


def rollout(rollout_id: str = "r1", steps: list[Step] | None = None, diff: str = "") -> Rollout:
    steps = steps or [
        Step(
            index=0,
            tool_call=ToolCall(name="read_file", arguments={"path": "src/a.py"}),
            observation=Observation(content="def f(x):\n    return x + 1\n"),
        ),
        bash(1, "ls", "src"),
        Step(
            index=2,
            tool_call=ToolCall(name="edit", arguments={"path": "src/a.py", "old": "x + 1", "new": "x + 2"}),
            observation=Observation(content="Edited src/a.py"),
        ),
        bash(3, "cat big.log", LONG),
        bash(4, "pytest -q", "1 failed", exit_code=1),
        bash(5, "pytest -q", "1 failed", exit_code=1),
    ]
    flags = [
        Flag(check="edit.unread", weight=1, message="edited before reading", steps=[2]),
        Flag(check="tests.ignored_failure", weight=1, message="finished on a failure", steps=[4, 5]),
    ]
    return Rollout(
        id=rollout_id,
        task_id="t1",
        policy="scored",
        seed=7,
        source=Source(path="runs/x.jsonl", format="native", record=3),
        steps=steps,
        final_diff=diff,
        tests_passed=False,
        exit_status="finished",
        flags=flags,
        score=2,
    )


class DetailApp(App[None]):
    def __init__(self, store: Store, rollout_id: str) -> None:
        super().__init__()
        self.store = store
        self.rollout_id = rollout_id

    def on_mount(self) -> None:
        self.push_screen(RolloutDetailScreen(self.store, self.rollout_id))


def plain(renderable: RenderableType) -> str:
    console = Console(width=100, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def detail(app: App[None]) -> RolloutDetailScreen:
    assert isinstance(app.screen, RolloutDetailScreen)
    return app.screen


@pytest.fixture
def app(store: Store) -> DetailApp:
    insert(store, rollout(diff="--- a/src/a.py\n+++ b/src/a.py\n@@ -1 +1 @@\n-x + 1\n+x + 2\n"))
    return DetailApp(store, "r1")


async def test_j_k_and_arrows_move_the_timeline_and_the_step_shown(app: DetailApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = detail(app)
        assert screen.timeline.highlighted == 0 and app.focused is screen.timeline
        await pilot.press("j", "j")
        assert screen.timeline.highlighted == 2
        assert screen.step_position == 2
        assert "Step 3/6" in plain(screen.step_view.renderable)
        await pilot.press("k")
        assert screen.timeline.highlighted == 1
        await pilot.press("down", "down")
        await pilot.pause()
        assert screen.step_position == 3
        await pilot.press("k", "k", "k", "k")  # stops at the first step
        assert screen.timeline.highlighted == 0


async def test_a_step_move_redraws_two_timeline_lines_and_lays_nothing_out(
    app: DetailApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.screen import Screen

    from tui.widgets.step_timeline import StepTimeline

    drawn: list[int] = []
    layouts: list[int] = []
    render_line, refresh_layout = StepTimeline.render_line, Screen._refresh_layout

    def counted_line(self: StepTimeline, y: int) -> Strip:
        drawn.append(y)
        return render_line(self, y)

    def counted_layout(self: Screen[object], *args: object, **kwargs: object) -> None:
        layouts.append(1)
        refresh_layout(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(StepTimeline, "render_line", counted_line)
    monkeypatch.setattr(Screen, "_refresh_layout", counted_layout)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = detail(app)
        rows = screen.step_view.virtual_size.height
        drawn.clear()
        layouts.clear()
        await pilot.press("j")  # step 2: fewer rows than step 1, both without a scrollbar
        await pilot.pause()
        assert screen.step_view.virtual_size.height != rows
        assert sorted(set(drawn)) == [0, 1] and layouts == []
        assert "Step 2/6" in screen.step_view.render_line(0).text


async def test_header_shows_outcome_source_and_badges(app: DetailApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        header = str(app.screen.query_one("#detail-header").render())
        for part in ("t1", "scored", "seed 7", "steps 6", "score 2", "fail", "finished", "runs/x.jsonl:3"):
            assert part in header
        assert "UNREAD" in header and "IGNFAIL" in header


@pytest.mark.parametrize(
    ("own", "shown"),
    [(True, "tests fail (own tests: pass)"), (False, "tests fail  "), (None, "tests fail  ")],
)
def test_header_names_the_own_tests_outcome_only_where_it_differs(own: bool | None, shown: str) -> None:
    from tui.screens.rollout_detail import header_text

    text = header_text(rollout().model_copy(update={"tests_passed_own": own})).plain
    assert shown in text and ("own tests" in text) is (own is True)


async def test_selecting_a_flag_jumps_to_its_first_step(app: DetailApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = detail(app)
        await pilot.press("tab", "tab")
        assert app.focused is screen.flag_list
        await pilot.press("down", "enter")  # the second flag: tests.ignored_failure, steps 4 and 5
        await pilot.pause()
        assert screen.timeline.highlighted == 4 and screen.step_position == 4
        await pilot.press("up", "enter")
        await pilot.pause()
        assert screen.timeline.highlighted == 2


async def test_g_cycles_through_flagged_steps(app: DetailApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = detail(app)
        seen = []
        for _ in range(4):
            await pilot.press("g")
            seen.append(screen.timeline.highlighted)
        assert seen == [2, 4, 5, 2]


async def test_f_unfolds_and_folds_a_long_observation(app: DetailApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = detail(app)
        screen.go_to(3)
        await pilot.pause()
        folded = plain(screen.step_view.renderable)
        assert "300 more lines — press f to unfold" in folded
        assert "line 199" in folded and "line 200" not in folded
        await pilot.press("f")
        unfolded = plain(screen.step_view.renderable)
        assert screen.unfolded and len(unfolded) > len(folded)
        assert "line 499" in unfolded and "press f to unfold" not in unfolded
        await pilot.press("f")
        assert plain(screen.step_view.renderable) == folded
        await pilot.press("f", "j")  # moving on folds again
        assert not screen.unfolded


async def test_edit_shows_old_and_new_as_code_and_reads_are_highlighted(app: DetailApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = detail(app)
        screen.go_to(2)
        await pilot.pause()
        text = plain(screen.step_view.renderable)
        assert "old:" in text and "x + 1" in text and "new:" in text and "x + 2" in text
        assert '"path": "src/a.py"' in text
    step = rollout().steps[0]
    assert observation_lexer(step, step.observation.content if step.observation else "") == "python"


async def test_nasty_ten_megabyte_observation_renders_fast_and_safely(store: Store) -> None:
    steps = [bash(0, "ls", "src"), bash(1, "pytest \x1b[2J", HUGE, exit_code=1)]
    insert(store, rollout(steps=steps))
    app = DetailApp(store, "r1")
    started = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = detail(app)
        await pilot.press("j")
        await pilot.pause()
        app.export_screenshot()  # composes every visible line
        assert time.perf_counter() - started < 5  # about 0.5 s: the 10 MB never reaches Rich
        text = plain(screen.step_view.renderable)
        assert "\x1b" not in text
        assert "FAILED test_a \u2400 bell\\x07" in text
        assert "99,801 more lines — press f to unfold" in text
        timeline = "".join(str(option.prompt) for option in screen.timeline.options)
        assert "\x1b" not in timeline
        assert screen.check_action("toggle_fold", ()) is True


@pytest.mark.parametrize(("size", "layout"), [((80, 24), "-narrow"), ((160, 48), "-wide")])
async def test_both_sizes_mount_and_lay_out(app: DetailApp, size: tuple[int, int], layout: str) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = detail(app)
        assert screen.has_class(layout)
        for pane in (screen.timeline, screen.step_view, screen.flag_list, screen.diff_view):
            assert pane.region.width > 10 and pane.region.height >= 3
        if layout == "-wide":
            assert screen.timeline.region.right <= screen.step_view.region.x
        else:
            assert screen.timeline.region.bottom <= screen.step_view.region.y
        assert "+x + 2" in plain(screen.diff_view.renderable)
        app.export_screenshot()
        await pilot.resize_terminal(200 - size[0], 72 - size[1])  # and the other way round
        await pilot.pause()
        assert not screen.has_class(layout)
        app.export_screenshot()


async def test_escape_goes_back(app: DetailApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, RolloutDetailScreen)


async def test_no_diff_no_flags_and_a_missing_rollout(store: Store) -> None:
    bare = rollout("bare", steps=[Step(index=0, malformed="no JSON", thought="hmm")])
    bare.flags, bare.score = [], 0
    insert(store, bare)
    app = DetailApp(store, "bare")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = detail(app)
        assert plain(screen.diff_view.renderable).strip() == "(no diff)"
        assert "no JSON" in plain(screen.step_view.renderable)
        assert screen.check_action("next_flagged", ()) is None  # greyed out in the footer
        screen.flag_list.focus()
        await pilot.press("g", "enter")
        assert screen.timeline.highlighted == 0
    missing = DetailApp(store, "nope")
    async with missing.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "not found" in str(missing.screen.query_one("#detail-header").render())


def test_fold_cuts_lines_and_characters_before_stripping() -> None:
    exact = "a\n" * FOLD_LINES
    assert fold(exact).hidden_chars == 0 and fold(exact).note() is None
    one_line = "\x1b[1m" + "y" * 10_000_000
    folded = fold(one_line)
    assert len(folded.text) < 50_000 and "\x1b" not in folded.text
    assert folded.note() is not None and "more characters" in str(folded.note())
    assert fold(LONG).hidden_lines == 300
    assert fold(LONG, unfolded=True).hidden_chars == 0
    capped = fold(HUGE, unfolded=True)
    assert len(capped.text) <= 1_000_000 and "\x1b" not in capped.text
    assert "not shown (display cap: 20,000 lines or 1,000,000 characters)" in str(capped.note())


def test_long_text_is_plain_above_the_highlight_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    step = rollout().steps[0]
    assert any(isinstance(part, Syntax) for part in step_renderable(step, 1, []).renderables)
    monkeypatch.setattr(step_view, "HIGHLIGHT_LINES", 1)
    assert not any(isinstance(part, Syntax) for part in step_renderable(step, 1, []).renderables)


async def test_the_rollout_id_is_shown_and_y_copies_it_made_visible(store: Store) -> None:
    for rollout_id in ("r1", "r2\x1b]0;pwned\x07\nrm -rf ~"):
        insert(store, rollout(rollout_id))
        app = DetailApp(store, rollout_id)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            title = str(detail(app).timeline.border_title)
            await pilot.press("y")
            copied = app.clipboard
        if rollout_id == "r1":
            assert "r1" in title and copied == "r1"
        else:
            assert copied == "r2\\x1b]0;pwned\\x07\\nrm -rf ~" and "\x1b" not in title


class OpenedApp(App[None]):
    """The detail opened as labelling opens it: blind or not, at a step, with a search."""

    def __init__(self, store: Store, **options: object) -> None:
        super().__init__()
        self.store, self.options = store, options

    def on_mount(self) -> None:
        self.push_screen(RolloutDetailScreen(self.store, "r1", **self.options))  # type: ignore[arg-type]


async def test_slash_finds_the_steps_holding_a_text_and_n_goes_through_them(app: DetailApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = detail(app)
        await pilot.press("slash")
        assert app.focused is screen.search_bar
        await pilot.press(*"1 FAILED", "enter")  # any case
        await pilot.pause()
        assert app.focused is screen.timeline  # focus back where it was
        assert screen.timeline.found == {4, 5} and screen.step_position == 4
        assert screen.step_view.match_rows
        row = screen.step_view._strips[screen.step_view.match_rows[0]]
        assert any(seg.style and seg.style.bgcolor and seg.style.bgcolor.name == "yellow" for seg in row)
        await pilot.press("n")
        assert screen.step_position == 5
        await pilot.press("n")
        assert screen.step_position == 4  # round again
        await pilot.press("N")
        assert screen.step_position == 5
        await pilot.press("slash", *"x + 2", "enter")  # the edit's text, and the final diff's
        assert screen.timeline.found == {2} and screen.diff_view.match_rows
        assert any("final diff" in n.message for n in app._notifications)
        await pilot.press("slash", *"nowhere at all", "enter")
        assert not screen.timeline.found and screen.check_action("find_next", ()) is None
        assert any("in no step" in n.message for n in app._notifications)
        await pilot.press("escape")
        assert not isinstance(app.screen, RolloutDetailScreen)


async def test_opened_blind_at_a_step_with_a_search(store: Store) -> None:
    from tui.screens.rollout_detail import header_text

    insert(store, rollout(diff="+x + 2\n"))
    app = OpenedApp(store, blind=True, step=3, search="pytest")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.pause()
        screen = detail(app)
        assert screen.step_position == 3 and screen.timeline.found == {4, 5}
        header = str(screen.query_one("#detail-header").render())
        assert not re.search(r"score \d", header) and "UNREAD" not in header and "blind" in header
        prompts = [str(screen.timeline.get_option_at_index(i).prompt) for i in range(6)]
        assert not [p for p in prompts if "⚑" in p]
        assert "hidden" in str(screen.flag_list.get_option_at_index(0).prompt)
        await pilot.press("j")  # step 5 was flagged: its title shows no mark either
        assert "⚑" not in plain(screen.step_view.renderable)
        assert screen.check_action("next_flagged", ()) is None
    shown = str(header_text(store.rollout("r1") or rollout(), blind=False))
    assert "score 2" in shown and "UNREAD" in shown


def test_a_call_cut_to_its_width_ends_in_an_ellipsis_and_never_wraps() -> None:
    from tui.widgets.timeline import call_summary, first_line, step_line

    long = bash(0, "python -m pytest -q tests/test_parser.py::test_one_very_long_name " * 3, "ok\tdone " * 40)
    summary = call_summary(long, 30)
    assert len(summary) == 30 and summary.endswith("…)") and summary.startswith("bash(python -m")
    assert call_summary(bash(0, "ls", ""), 30) == "bash(ls)"  # what fits is not cut
    assert call_summary(bash(0, "a\nb\x1b[31mc", ""), 30) == "bash(a bc)"  # one line, escapes gone
    nothing = Step(index=0, thought="x" * 500)
    assert call_summary(nothing, 30).endswith("…") and len(call_summary(nothing, 30)) == 30
    observed = first_line(long, 20)
    assert len(observed) == 20 and observed.endswith("…") and "\t" not in observed
    for width in (40, 77, 100):
        line = step_line(long, ["tests.never_run"], width)
        assert line.cell_len <= width and line.plain.endswith("…") and "\n" not in line.plain


PYTHON_300 = "\n".join(f"def f_{i}(x):  # line {i}" if i % 2 else f"    return x + {i}" for i in range(300))


@pytest.mark.parametrize("position", [0, 1])  # highlighted code (a .py read), plain text (a log)
async def test_a_long_step_renders_what_is_seen_and_the_rest_when_scrolled_to(
    store: Store, position: int
) -> None:
    steps = [
        Step(
            index=0,
            tool_call=ToolCall(name="read_file", arguments={"path": "src/big.py"}),
            observation=Observation(content=PYTHON_300),
        ),
        bash(1, "cat big.log", LONG),
    ]
    insert(store, rollout(steps=steps))
    app = DetailApp(store, "r1")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = detail(app)
        screen.go_to(position)
        await pilot.press("f")  # unfolded: 300 or 500 lines
        view = screen.step_view
        assert None in view._strips  # the rows below the view are only counted
        assert view.virtual_size.height == len(view._strips) > 300
        assert all(view._strips[row] is not None for row in range(view.scrollable_content_region.height))
        view.scroll_end(animate=False)
        await pilot.pause()
        assert None not in view._strips  # drawn when scrolled to
        scrolled = [strip.text for strip in view._strips if strip is not None]
        assert "line 499" in "".join(scrolled) or "return x + 298" in "".join(scrolled)
        view.highlight("no such text anywhere")  # a search renders it all at once: the same rows
        assert [strip.text for strip in view._strips if strip is not None] == scrolled


async def test_moving_through_steps_never_redraws_the_footer_a_key_only_lights_up(
    app: DetailApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[bool] = []
    draw = KeysFooter._draw

    def counted(self: KeysFooter, width: int) -> Strip:
        drawn.append(bool(self.screen.check_action("toggle_fold", ())))
        return draw(self, width)

    monkeypatch.setattr(KeysFooter, "_draw", counted)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeysFooter)

        def fold() -> FooterItem:
            (item,) = [item for item in footer.items if item.action == "toggle_fold"]
            return item

        drawn.clear()
        await pilot.press("j", "j")  # steps 2 and 3: nothing to unfold, as on step 1
        await pilot.pause()
        assert drawn == [] and not fold().enabled
        await pilot.press("j")  # step 4 holds 500 lines: `f` becomes available
        await pilot.pause()
        assert drawn == [True] and fold().enabled
        assert "f Fold" in footer.render_line(0).text
        await pilot.press("k")
        await pilot.pause()
        assert drawn == [True, False] and not fold().enabled


async def test_a_kept_detail_loaded_again_shows_the_new_rollout_and_nothing_of_the_old(store: Store) -> None:
    from tui.screens.rollout_detail import open_rollout

    insert(store, rollout(diff="+x + 2\n"), rollout("r2", steps=[bash(0, "ls -la", "README.md")], diff=""))

    class Opener(App[None]):
        pass

    app = Opener()
    async with app.run_test(size=(80, 24)) as pilot:
        open_rollout(app, store, "r1", blind=True, step=3, search="pytest")
        await pilot.pause()
        await pilot.pause()
        first = detail(app)
        assert first.step_position == 3 and first.timeline.found == {4, 5}
        await pilot.press("escape")
        open_rollout(app, store, "r2")
        await pilot.pause()
        second = detail(app)
        assert second is first  # the same screen, loaded again
        assert second.rollout_id == "r2" and second.step_position == 0 and not second.blind
        assert not second.timeline.found and not second.step_view.match_rows and not second.search_text
        assert str(second.timeline.get_option_at_index(0).prompt).endswith("README.md")
        assert second.timeline.option_count == 1 and second.timeline.highlighted == 0
        header = str(second.query_one("#detail-header").render())
        assert "score 2" in header and "steps 1" in header and "blind" not in header
        assert str(second.flag_list.border_title) == "Flags (2)"  # shown again: not blind
        assert plain(second.diff_view.renderable).strip() == "(no diff)"
        await pilot.press("j", "k", "y")
        assert app.clipboard == "r2"
        await pilot.press("p")  # r2 has no parent: nothing pushed
        assert app.screen is second
