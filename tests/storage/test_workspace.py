from pathlib import Path

from core.config import DEFAULT_CONFIG_TEXT, Config
from storage.workspace import Workspace


def test_paths_inside_the_workspace_are_stored_relative_to_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ws = Workspace.create(Path("ws"))  # a relative -w, as a user types it
    stored = ws.to_stored(ws.runs_dir / "run-1" / "adapter")
    assert stored == "runs/run-1/adapter"
    moved = Workspace(tmp_path / "elsewhere")
    assert moved.from_stored(stored) == tmp_path / "elsewhere" / "runs" / "run-1" / "adapter"
    outside = tmp_path / "models" / "big"
    assert ws.to_stored(outside) == str(outside) and ws.from_stored(str(outside)) == outside


def test_the_config_a_new_workspace_gets_is_the_generated_default_and_reads_back_as_it(tmp_path):
    ws = Workspace.create(tmp_path / "ws")
    assert ws.config_path.read_text(encoding="utf-8") == DEFAULT_CONFIG_TEXT
    assert ws.config() == Config()
