"""What an empty workspace shows instead of an empty table: how to get started."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Static

from core.text import visible
from tui.widgets.keys_footer import KeysFooter

GETTING_STARTED = """\
This workspace has no rollouts yet. To get started:

  • the offline demo (tasks, a tiny model, scored rollouts, pairs to label):
        agentpref-tui --demo -w demo-workspace

  • import rollouts from another harness (native JSONL, OpenAI chat, SWE-agent, mini-swe-agent):
        agentpref-tui import runs/*.jsonl -w {ws}
        agentpref-tui mine -w {ws}

  • add tasks and roll your own model out:
        agentpref-tui tasks add path/to/task -w {ws}
        agentpref-tui rollout -w {ws} --n 8

Then open this workspace again: it starts on labelling when pairs are waiting.
Press q to quit, ? for keys.
"""


class EmptyScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = []

    def __init__(self, workspace: str) -> None:
        super().__init__()
        self.workspace = workspace

    def compose(self) -> ComposeResult:
        yield Static(Text(GETTING_STARTED.format(ws=visible(self.workspace))), id="empty")
        yield KeysFooter()
