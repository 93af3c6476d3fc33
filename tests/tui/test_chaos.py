"""A labelling session on a busy workspace: a 20,000-rollout import, `mine` in a loop and a
training run share the database with the TUI. Every decision is stored, nothing crashes, and
the UI thread never takes the write lock (decisions go through the writer thread)."""

import subprocess
import sys
import textwrap
import threading
import time

from bench import synthetic
from core.schema import PreferenceSource
from storage.store import Store
from tests.tui.conftest import accept_automatically, build_train_workspace
from tui.app import make_app
from tui.screens.label import LabelScreen

IMPORTED = 20_000


def cli(ws, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "tui", *args, "-w", str(ws.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_labelling_goes_on_while_an_import_mining_and_training_share_the_workspace(
    tmp_path, monkeypatch
):
    ws = build_train_workspace(tmp_path / "ws", label=False)
    with ws.store() as store:  # half the pairs decided automatically: something to train on
        pending = store.pairs(pending_only=True)
        accept_automatically(store, pending[: len(pending) // 2])
    big = synthetic.write_jsonl(tmp_path / "big.jsonl", IMPORTED, seed=9)
    stop_mining = tmp_path / "stop"
    miner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import pathlib
                from tui.cli import main
                runs = 0
                while not pathlib.Path({str(stop_mining)!r}).exists() or runs == 0:
                    assert main(["mine", "-w", {str(ws.root)!r}]) == 0
                    runs += 1
                print("mined", runs, "times")
                """
            ),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    trainer = cli(ws, "--train", "--set", "max_steps=20", "--set", "batch_size=2", "--set", "max_length=512")
    importer = cli(ws, "import", str(big))

    ui_thread_writes = []
    write = Store.write

    def watched_write(self):  # type: ignore[no-untyped-def]
        if threading.current_thread() is threading.main_thread():
            ui_thread_writes.append(self.path)
        return write(self)

    monkeypatch.setattr(Store, "write", watched_write)
    decided = []
    app = make_app(ws.root)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = "1234 "
        deadline = time.monotonic() + 900  # a generous bound, for a machine under load
        while importer.poll() is None or len(decided) < 5:
            assert time.monotonic() < deadline, f"only {len(decided)} decisions in 15 minutes"
            screen = app.screen
            if isinstance(screen, LabelScreen) and screen.current is None:
                screen.next_pair()  # the queue ran dry: pick up what the mine loop added since
            if isinstance(screen, LabelScreen) and screen.current is not None:
                shown = screen.current.pair
                decided.append((shown.chosen_id, shown.rejected_id, keys[len(decided) % len(keys)]))
                await pilot.press(decided[-1][2])
            await pilot.pause(0.05)
        while app.decisions.pending:
            await pilot.pause(0.1)
    assert importer.wait(timeout=900) == 0, importer.stdout.read()
    stop_mining.touch()
    assert miner.wait(timeout=900) == 0, miner.stdout.read()
    assert trainer.wait(timeout=900) == 0, trainer.stdout.read()
    assert ui_thread_writes == []

    with ws.store() as store:
        assert store.scalar("SELECT count(*) FROM rollouts") >= IMPORTED
        human = store.preferences(PreferenceSource.HUMAN)
        by_rollouts = {}
        for pref in human:
            pair = store.pair(pref.pair_id)
            by_rollouts[frozenset((pair.chosen_id, pair.rejected_id))] = pref
    skips = sum(key == " " for _, _, key in decided)
    assert len(decided) >= 5
    for chosen, rejected, key in decided:
        pref = by_rollouts.get(frozenset((chosen, rejected)))
        assert pref is not None, f"the decision on {chosen} vs {rejected} ({key!r}) was lost"
    assert len(human) == len({frozenset(d[:2]) for d in decided}) and skips >= 1
