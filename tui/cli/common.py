"""What every command shares: exit codes, the error that means bad input, the consoles, the bar.

A leaf: it imports no command module and not the entry point, so each command imports it and
nothing imports back. The progress bar and the confinement check are imported on use, so that
`--help` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

from core.text import UNSAFE_RE, visible

if TYPE_CHECKING:
    from rich.progress import Progress

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class SafeConsole(Console):
    """A console whose every string passes `core.text.visible`, so no data it prints (ids, file
    names, reasons, error messages) can drive the terminal. Strings are made visible before
    layout (tables stay aligned); every rendered segment is checked again, which covers `Text`
    built by hand and progress bars. Rich's own control segments (cursor moves) pass as made.

    Markup is not escaped here: interpolate data into markup through `rich.markup.escape`.
    """

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(visible(text), **kwargs)

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or not UNSAFE_RE.search(segment.text):
                yield segment
            else:
                yield Segment(visible(segment.text), segment.style)


out = SafeConsole(highlight=False)
err = SafeConsole(stderr=True, highlight=False)


def emit(text: str) -> None:
    """Plain text for pipes and files (JSON, Markdown): unstyled, but still made `visible`."""
    print(visible(text))


class BadInput(Exception):
    """Raised by a command for input it cannot use; the CLI prints it and exits 2."""


def progress_bar(
    console: Console, width: int = 0, terminal_only: bool = False, disable: bool = False
) -> Progress:
    """The bar of a long job: its task's description (padded to `width`), the bar, done of total
    and the time elapsed. `terminal_only` draws it only where a person watches (training and
    evaluation, whose output also goes to logs); `disable` leaves it out altogether."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(f"{{task.description:<{width}}}" if width else "{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=disable or (terminal_only and not console.is_terminal),
    )


def warn_if_unconfined(console: Console) -> None:
    """The warning every `rollout`, `branch` and `eval` prints where test runs have rlimits alone."""
    from core.agent.confinement import HOW_TO_CONFINE, RLIMITS, UNCONFINED, isolation

    if isolation() == RLIMITS:
        console.print(f"[yellow]warning[/] {UNCONFINED}; {HOW_TO_CONFINE}", soft_wrap=True, highlight=False)
