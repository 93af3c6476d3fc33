"""A workspace with imported, checked and mined rollouts (no model needed), for the app tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import synthetic
from core.schema import Pair
from storage import service
from storage.ingest import import_files
from storage.store import Store
from storage.workspace import Workspace


def build_workspace(root: Path, rollouts: int = 48) -> Workspace:
    """Imported synthetic rollouts share no prefixes: they are paired as whole rollouts."""
    ws = Workspace.create(root)
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(text.replace("rollout_pairs = false", "rollout_pairs = true"), encoding="utf-8")
    data = synthetic.write_jsonl(root.parent / f"{root.name}-sample.jsonl", rollouts, seed=3)
    with ws.store() as store:
        import_files(store, [data], ws.config())
        service.mine_proposals(store, ws.config())
    return ws


def accept_automatically(store: Store, pairs: list[Pair]) -> None:
    """Decide `pairs` as `label --auto` would (the checks' side, source `auto`)."""
    from storage.service import auto_preference

    for pair in pairs:
        store.record_preference(auto_preference(pair))


@pytest.fixture
def labelled_ws(tmp_path: Path) -> Workspace:
    return build_workspace(tmp_path / "ws")


def build_train_workspace(root: Path, label: bool = True) -> Workspace:
    """Synthetic rollouts, mined and (optionally) accepted, and a tiny model to train."""
    from core.tiny_model import build_tiny_model

    ws = build_workspace(root)
    if label:
        with ws.store() as store:
            service.auto_label(store)
    corpus = (root.parent / f"{root.name}-sample.jsonl").read_text().splitlines()[:20]
    build_tiny_model(ws.models_dir / "tiny", corpus, vocab_size=400)
    return ws


@pytest.fixture(scope="session")
def looped_ws(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The headless loop on a small demo: build, label --auto, --train, eval --json.

    Shared by the loop test and the Eval screen tests (it takes about a minute).
    """
    import io
    import json
    from contextlib import redirect_stdout

    from tui.cli import main
    from tui.rollout_jobs import build_demo

    ws = Workspace.create(tmp_path_factory.mktemp("loop") / "ws")
    build_demo(ws, rollouts_per_task=2, branch_points_per_task=1, branch_n=1)
    assert main(["label", "--auto", "-w", str(ws.root)]) == 0
    quick = ["--set", "max_steps=4", "--set", "batch_size=4", "--set", "max_length=1024"]
    assert main(["--train", "-w", str(ws.root), *quick]) == 0
    with ws.store() as store:
        heldout = [t.id for t in store.tasks() if t.split == "heldout"][:2]
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(["eval", "-w", str(ws.root), "--n", "2", "--tasks", ",".join(heldout), "--json"])
    assert code == 0
    return {"ws": ws, "result": json.loads(buffer.getvalue()), "tasks": heldout}


async def wait_until(pilot, condition, timeout: float = 900) -> None:  # type: ignore[no-untyped-def]
    """Let the app run until `condition()` holds (background processes report through the DB)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.3)
    raise AssertionError("timed out")


def vote(ws: Workspace, annotator: str, picks: list[str], overlap: int = 2) -> list[Pair]:
    """`annotator` decides the first `len(picks)` pairs: "proposed" takes the checks' side,
    "other" the other one, anything else is that decision (both_good, both_bad)."""
    from storage.labelling import LabelSession

    with ws.store() as store:
        pairs = store.pairs()[: len(picks)]
        session = LabelSession(store, annotator=annotator, overlap=overlap)
        for pair, pick in zip(pairs, picks, strict=True):
            shown = session.show(pair)
            want = {"proposed": pair.chosen_id, "other": pair.rejected_id}.get(pick)
            session.decide(shown, pick if want is None else ("left" if shown.left.id == want else "right"))
    return pairs
