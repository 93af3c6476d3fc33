"""The workspace folder: one database, one config, and the folders later steps fill."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.config import CONFIG_NAME, DEFAULT_CONFIG_TEXT, Config, load_config
from storage.health import quick_check
from storage.store import Store

DB_NAME = "agentpref.db"


class WorkspaceError(ValueError):
    """No workspace where one was expected."""


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def tasks_dir(self) -> Path:
        return self.root / "tasks"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @classmethod
    def create(cls, root: Path) -> Workspace:
        """Make (or complete) a workspace; an existing config and database are kept."""
        ws = cls(Path(root))
        if ws.root.exists() and not ws.root.is_dir():
            raise WorkspaceError(f"{ws.root} exists and is not a folder")
        for folder in (ws.root, ws.tasks_dir, ws.models_dir, ws.runs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if not ws.config_path.exists():
            ws.config_path.write_text(DEFAULT_CONFIG_TEXT, encoding="utf-8")
        Store(ws.db_path).close()
        return ws

    @classmethod
    def open(cls, root: Path) -> Workspace:
        """An existing workspace whose database passed a quick check (DatabaseDamaged if not)."""
        ws = cls(Path(root))
        if not ws.db_path.exists():
            raise WorkspaceError(
                f"no workspace at {ws.root} (no {DB_NAME}): create one with `agentpref-tui init -w {ws.root}`"
            )
        if not ws.db_path.is_file():
            raise WorkspaceError(f"{ws.db_path} is not a file")
        quick_check(ws.db_path)
        return ws

    def to_stored(self, path: Path) -> str:
        """A path as the database keeps it: relative to the workspace when inside it, so the
        workspace can be moved or copied to another machine; absolute otherwise."""
        resolved = Path(path).resolve()
        try:
            return str(resolved.relative_to(self.root.resolve()))
        except ValueError:
            return str(resolved)

    def from_stored(self, text: str) -> Path:
        """Always absolute: a path relative to a relative `-w` would be read twice relative."""
        path = Path(text)
        return path if path.is_absolute() else self.root.resolve() / path

    def store(self) -> Store:
        return Store(self.db_path)

    def config(self) -> Config:
        return load_config(self.config_path)

    @property
    def exists(self) -> bool:
        return self.db_path.exists()
