"""The look of each screen at 80x24 and 160x48 (pytest-textual-snapshot).

Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and review the SVGs. The workspace is built from a fixed seed at a relative path, so nothing
on screen depends on the machine.
"""

from pathlib import Path

import pytest

from storage.workspace import Workspace
from tests.tui.conftest import build_workspace
from tui.app import make_app

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def ws_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    build_workspace(Path("ws"))  # relative: source paths on screen do not depend on the machine
    return "ws"


@pytest.mark.parametrize("size", SIZES)
def test_label_screen(snap_compare, ws_here, size):
    assert snap_compare(make_app(ws_here), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_rollouts_screen(snap_compare, ws_here, size):
    assert snap_compare(make_app(ws_here), terminal_size=size, press=["r"])


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, ws_here, size):
    assert snap_compare(make_app(ws_here), terminal_size=size, press=["question_mark"])


@pytest.mark.parametrize("size", SIZES)
def test_empty_workspace(snap_compare, tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)
    Workspace.create(tmp_path / "empty")
    assert snap_compare(make_app("empty"), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_rollout_detail_screen(snap_compare, ws_here, size):
    assert snap_compare(make_app(ws_here), terminal_size=size, press=["r", "enter", "j", "j"])
