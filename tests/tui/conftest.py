"""A workspace with imported, checked and mined rollouts (no model needed), for the app tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import synthetic
from storage import service
from storage.ingest import import_files
from storage.workspace import Workspace


def build_workspace(root: Path, rollouts: int = 48) -> Workspace:
    ws = Workspace.create(root)
    data = synthetic.write_jsonl(root.parent / f"{root.name}-sample.jsonl", rollouts, seed=3)
    with ws.store() as store:
        import_files(store, [data], ws.config())
        service.mine_proposals(store, ws.config())
    return ws


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
