"""What each headless command does: take parsed arguments, print results, return an exit code."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.agent.confinement import HOW_TO_CONFINE, RLIMITS, UNCONFINED, isolation


def job_progress(console: Console, disable: bool = False) -> Progress:
    """The bar of a long job (training, evaluation): only on a terminal, where a person watches."""
    return Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=disable or not console.is_terminal,
    )


def warn_if_unconfined(console: Console) -> None:
    """The warning every `rollout`, `branch` and `eval` prints where test runs have rlimits alone."""
    if isolation() == RLIMITS:
        console.print(f"[yellow]warning[/] {UNCONFINED}; {HOW_TO_CONFINE}", soft_wrap=True, highlight=False)
