"""No data drives the terminal: a workspace whose every field holds escape sequences, through
every CLI command that prints data and every screen of the TUI.

The corpus sits in task ids, policies, exit statuses, thoughts, tool calls, observations,
diffs, an embedded task, a file name, a run's error and log, evaluation results and the
pending tags and note. What reaches the terminal may hold no ESC, C1 control, BEL, NUL or bidi
override coming from data (Rich's and Textual's own colour codes and cursor moves excepted),
and markup in data (`[link=…]`, `[@click=…]`) stays text.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from textual.widgets import DataTable

from bench import synthetic
from core.schema import EvalConfig
from storage import browse, evals, runs, service
from storage.jobs import FAILED, FINISHED
from storage.workspace import Workspace
from tui import cli
from tui.app import make_app
from tui.cli import common, data, evaluate, main, rollout, tasks, train, workspace
from tui.cli.common import SafeConsole
from tui.screens.eval_compare import EvalCompareScreen
from tui.screens.eval_drill import EvalDrillScreen
from tui.screens.evaluate import EvalScreen
from tui.screens.label import LabelScreen
from tui.screens.note import NoteScreen
from tui.screens.rollout_detail import RolloutDetailScreen
from tui.screens.rollouts import RolloutsScreen
from tui.screens.run_summary import RunSummaryScreen
from tui.screens.train import TrainScreen

CORPUS = [
    "\x1b]0;pwned\x07",  # OSC 0: window title
    "\x1b]2;title\x1b\\",  # OSC 2, ST-terminated
    "\x1b]52;c;ZXZpbA==\x07",  # OSC 52: clipboard write
    "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",  # OSC 8: hyperlink
    "\x1b[2J",  # CSI: clear screen
    "\x1b[31m",  # CSI: colour
    "\x1bP1$qm\x1b\\",  # DCS
    "\x9b2J",  # C1 CSI
    "\x9d0;x\x9c",  # C1 OSC ... ST
    "\x07\x00\r\x7f",  # BEL, NUL, CR, DEL
    "\u202eevil\u202c\u2066",  # bidi override, pop, isolate
    "[link=http://x]l[/link][@click=app.quit]q[/]",  # markup
    "\x1b]2;unterminated",  # a cut-off OSC, last: it swallows what follows it
]
EVIL = "".join(CORPUS)
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
OWN_CODES = re.compile(r"\x1b\[[0-9;:]*[mHK]")  # colours, cursor moves, line erase
EVAL_ID, OTHER_EVAL, RUN_ID = "ev1", "ev0", "r1"


def assert_clean(output: str, where: str, own_codes: bool = False) -> None:
    """No control character in `output` (once the terminal's own codes are removed, if any)."""
    rest = OWN_CODES.sub("", output) if own_codes else output
    found = FORBIDDEN.search(rest)
    near = rest[max(0, found.start() - 40) : found.end() + 40] if found else ""
    assert found is None, f"{where}: {found.group()!r} reached the terminal near {near!r}"


def assert_markup_kept(output: str, where: str) -> None:
    """The corpus's markup (right after its visible U+2066) is shown as text, not applied."""
    for after in re.findall(r"\\u2066(.?)", output):
        assert after in ("[", "", " ", "\n", "…"), f"{where}: markup from data was applied"


def hostile_line(line: str, number: int, eval_side: str | None = None) -> str:
    record = json.loads(line)
    task_id = record["task_id"] + EVIL
    record.update(
        task_id=task_id, policy=f"policy{EVIL}", exit_status=EVIL, final_diff=f"+x{EVIL}\n-y{EVIL}\n"
    )
    record["task"] = {"id": task_id, "instruction": EVIL, "split": "heldout", "test_command": EVIL}
    for step in record["steps"]:
        step["thought"] += EVIL
        if step.get("observation"):
            step["observation"]["content"] += EVIL
        call = step.get("tool_call")
        if call:
            call["arguments"] = {
                k: f"{v}{EVIL}" if isinstance(v, str) else v for k, v in call["arguments"].items()
            }
    if number % 5 == 0:  # a turn that was no valid tool call
        record["steps"][0].update(tool_call=None, malformed=EVIL)
    if eval_side:
        record.update(eval_id=EVAL_ID, policy=f"{eval_side}{EVIL}")
    return json.dumps(record)


@pytest.fixture(scope="module")
def hostile_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("hostile")
    ws = Workspace.create(root / "ws")
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(text.replace("rollout_pairs = false", "rollout_pairs = true"), encoding="utf-8")
    lines = synthetic.write_jsonl(root / "sample.jsonl", 24, seed=3).read_text().splitlines()
    data = [hostile_line(line, n) for n, line in enumerate(lines[:16])]
    data += [hostile_line(line, n, "before" if n % 2 else "after") for n, line in enumerate(lines[16:])]
    path = root / f"rollouts{EVIL.replace(chr(0), '').replace('/', '')}.jsonl"
    path.write_text("\n".join(data) + "\n", encoding="utf-8")
    assert main(["import", str(path), "-w", str(ws.root)]) == 0
    with ws.store() as store:
        service.mine_proposals(store, ws.config())
        log = ws.runs_dir / RUN_ID / "train.log"
        log.parent.mkdir(parents=True)
        log.write_text(f"step 1 {EVIL}\nskipped {EVIL}\n", encoding="utf-8")
        adapter = ws.runs_dir / RUN_ID / "adapter"
        adapter.mkdir()
        (adapter / "README.md").write_text(f"# card\n\n{EVIL}\n", encoding="utf-8")
        runs.create_run(store, None, RUN_ID)
        runs.end_run(
            store,
            RUN_ID,
            FINISHED,
            adapter_path=ws.to_stored(adapter),
            log_path=ws.to_stored(log),
            stage=EVIL,
            final_metrics={"eval_rewards/accuracies": 0.5},
        )
        runs.create_run(store, None, "r2")
        runs.end_run(store, "r2", FAILED, error=f"Traceback\n{EVIL}")
        tasks = [
            r["task_id"]
            for r in store.db.query("SELECT DISTINCT task_id FROM rollouts WHERE eval_id = ?", [EVAL_ID])
        ]
        config = {
            "tasks": tasks,
            "n": 1,
            "seed": 0,
            "before_policy": f"before{EVIL}",
            "after_policy": f"after{EVIL}",
        }
        for eval_id in (OTHER_EVAL, EVAL_ID):
            evals.create_eval(store, RUN_ID, EvalConfig(**config), eval_id)
            evals.end_eval(store, eval_id, FINISHED, result=evals.comparison(store, eval_id))
        evals.create_eval(store, RUN_ID, EvalConfig(**config), "ev2")
        evals.end_eval(store, "ev2", FAILED, error=f"Traceback\n{EVIL}", stage=EVIL)
    return ws


# -- the command line -------------------------------------------------------------------------------


@pytest.fixture(params=[False, True], ids=["pipe", "terminal"])
def cli_output(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """Run `main` and return everything it wrote; on a (forced) colour terminal, or to a pipe."""
    terminal = request.param
    streams = {"out": io.StringIO(), "err": io.StringIO()}
    consoles = {
        name: SafeConsole(
            file=stream,
            force_terminal=terminal,
            color_system="truecolor" if terminal else None,
            width=2000,  # wide enough that no cell is cut before the markup
            highlight=False,
        )
        for name, stream in streams.items()
    }
    for module in (cli, common, data, evaluate, rollout, tasks, train, workspace):
        for name, console in consoles.items():
            if hasattr(module, name):
                monkeypatch.setattr(module, name, console)

    def run(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        text = captured.out + captured.err + streams["out"].getvalue() + streams["err"].getvalue()
        for stream in streams.values():
            stream.seek(0)
            stream.truncate()
        return code, text

    run.terminal = terminal  # type: ignore[attr-defined]
    return run


def test_every_command_that_prints_data_prints_it_visible(
    hostile_ws: Workspace, cli_output, tmp_path: Path
) -> None:
    ws = str(hostile_ws.root)
    broken = tmp_path / f"broken{EVIL.replace(chr(0), '').replace('/', '')}.jsonl"
    broken.write_text(
        f'{{"format": "agentpref.rollout/1", "task_id": "{json.dumps(EVIL)[1:-1]}", "steps": 3}}\n'
    )
    commands = [
        ["status", "-w", ws],
        ["status", "--json", "-w", ws],
        ["tasks", "list", "-w", ws],
        ["tasks", "list", "--json", "-w", ws],
        ["import", str(broken), "-w", ws],
        ["import", str(next(hostile_ws.root.parent.glob("rollouts*.jsonl"))), "-w", ws],
        ["mine", "-w", ws],
        ["export", str(tmp_path / "prefs.jsonl"), "-w", ws],
        ["eval", "--show", EVAL_ID, "-w", ws],
        ["eval", "--show", EVAL_ID, "--json", "-w", ws],
        ["eval", "--show", EVAL_ID, "--markdown", "-w", ws],
        ["eval", "--show", EVIL, "-w", ws],
        ["branch", "--rollout", EVIL, "-w", ws],
        ["--train", "--resume", EVIL, "-w", ws],
        ["tasks", "check", "--tasks", EVIL, "-w", ws],
    ]
    printed = 0
    for argv in commands:
        _, text = cli_output(*argv)
        assert_clean(text, " ".join(argv[:2]), own_codes=cli_output.terminal)
        printed += "\\x1b" in text or "\\u001b" in text
        assert_markup_kept(text, " ".join(argv[:2]))
    assert printed >= 8  # the data was shown (made visible), not left out


# -- the TUI ------------------------------------------------------------------------------------------


def rendered(app, where: str) -> str:  # type: ignore[no-untyped-def]
    """What the screen sends to the terminal, checked: every segment's text, and the whole output
    with Textual's own colour codes and cursor moves taken out (an OSC 8 link would remain)."""
    strips = app.screen._compositor.render_strips()
    text = "\n".join("".join(segment.text for segment in strip) for strip in strips)
    assert_clean(text, where)
    assert_clean("".join(strip.render(app.console) for strip in strips), where, own_codes=True)
    return text


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
async def test_every_screen_shows_data_visible(
    hostile_ws: Workspace, no_color: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also the walk through every screen with NO_COLOR, whose filter crashed on styleless strips."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(hostile_ws.root)
    shown = []
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        assert isinstance(app.screen, LabelScreen)
        screen = app.screen
        screen.pending_tags, screen.pending_note = [EVIL], EVIL
        screen.draw_progress()
        await pilot.pause()
        shown.append(rendered(app, "label"))
        await pilot.press("b", "y")  # blind mode, and the pair id copied (with a notification)
        await pilot.pause()
        shown.append(rendered(app, "label blind"))
        await pilot.press("b")
        await pilot.press("n")
        assert isinstance(app.screen, NoteScreen)
        shown.append(rendered(app, "note"))
        await pilot.press("escape", "question_mark")
        shown.append(rendered(app, "help"))
        await pilot.press("escape", "r")
        assert isinstance(app.screen, RolloutsScreen)
        await pilot.pause()
        shown.append(rendered(app, "rollouts"))
        app.screen.table.filter = browse.Filter(EVIL)  # what a filter says is echoed in the title
        app.screen.refresh_data()
        await pilot.pause()
        shown.append(rendered(app, "rollouts filtered"))
        app.screen.table.filter = browse.Filter()
        app.screen.refresh_data()
        await pilot.pause()
        await pilot.press("enter")
        assert isinstance(app.screen, RolloutDetailScreen)
        await pilot.pause()
        shown.append(rendered(app, "detail"))
        for key in ("j", "f", "j", "tab", "tab", "tab"):
            await pilot.press(key)
            await pilot.pause()
            shown.append(rendered(app, f"detail after {key}"))
        app.notify(EVIL, title=EVIL)
        app.screen.notify(f"[@click=app.quit]{EVIL}")
        await pilot.pause()
        shown.append(rendered(app, "notifications"))
        app.clear_notifications()

        await pilot.press("t")
        assert isinstance(app.screen, TrainScreen)
        await pilot.pause()
        shown.append(rendered(app, "train"))
        table = app.screen.query_one("#runs-table", DataTable)
        for row in range(table.row_count):
            table.move_cursor(row=row)
            await pilot.pause()
            shown.append(rendered(app, f"train row {row}"))
        table.move_cursor(row=[r.id for r in app.screen._rows].index(RUN_ID))
        await pilot.pause()
        await pilot.press("enter")
        assert isinstance(app.screen, RunSummaryScreen)
        shown.append(rendered(app, "run summary"))
        await pilot.press("escape", "n")
        await pilot.pause()
        shown.append(rendered(app, "new run"))
        await pilot.press("escape")

        await pilot.press("v")
        assert isinstance(app.screen, EvalScreen)
        await pilot.pause()
        evals_table = app.screen.query_one("#evals-table", DataTable)
        for row in range(evals_table.row_count):
            evals_table.move_cursor(row=row)
            await pilot.pause()
            shown.append(rendered(app, f"eval row {row}"))
        ids = [r.id for r in app.screen._rows]
        evals_table.move_cursor(row=ids.index(OTHER_EVAL))
        await pilot.pause()
        await pilot.press("space")
        evals_table.move_cursor(row=ids.index(EVAL_ID))
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        shown.append(rendered(app, "eval chart"))
        await pilot.press("b", "d")
        assert isinstance(app.screen, EvalCompareScreen)
        shown.append(rendered(app, "eval compare"))
        await pilot.press("escape")
        modes = app.screen.query_one("#modes-table", DataTable)
        modes.focus()
        modes.move_cursor(row=0)
        await pilot.press("enter")
        assert isinstance(app.screen, EvalDrillScreen)
        await pilot.pause()
        shown.append(rendered(app, "eval drill"))
    everything = "\n".join(shown)
    assert "\\x1b]0;pwned\\x07" in everything  # the data is there, made visible
    assert_markup_kept(everything, "TUI")
    assert "[@click=app.quit]" in everything
