"""Training curves (textual-plotext): loss, and reward accuracy and margin, train and validation.

The legend is a line of its own above the chart, each series named in its colour: plotext's
legend is drawn inside the canvas, over the data, and on a short screen hides most of it. The
chart has no title and no x label (the steps are the ticks), so every row it has goes to data.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

Points = list[tuple[int, float]]
Series = dict[str, Points]
RGB = tuple[int, int, int]
Line = tuple[str, RGB, Points]  # a series as drawn: its label in the legend, its colour, its points

SHORT_NAMES = {"loss": "loss", "rewards/accuracies": "acc", "rewards/margins": "margin"}
# (train, validation) colours of each metric, in the order a chart lists its metrics.
COLOURS = [
    ((0, 130, 200), (245, 130, 48)),
    ((60, 180, 75), (70, 240, 240)),
    ((230, 25, 75), (240, 50, 230)),
]


def integer_ticks(steps: list[int], count: int = 5) -> list[int]:
    """About `count` whole steps, evenly spaced from the first, and the last step (plotext's own
    ticks are fractions of a step: 8.2)."""
    lo, hi = min(steps), max(steps)
    every = max(1, math.ceil((hi - lo) / (count - 1)))
    ticks = list(range(lo, hi + 1, every))
    if ticks[-1] != hi:
        if hi - ticks[-1] < every / 2:
            ticks[-1] = hi
        else:
            ticks.append(hi)
    return ticks


class Curves(Vertical):
    """One small chart of a few metric series under its legend; redrawn only when the data changed."""

    def __init__(self, names: list[str], id: str | None = None) -> None:
        super().__init__(id=id)
        self.names = names
        self._shown: tuple[object, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static(self._legend([]), classes="curves-legend")
        yield PlotextPlot()

    @property
    def plot(self) -> PlotextPlot:
        return self.query_one(PlotextPlot)

    def _lines(self, train: Series, validation: Series) -> list[Line]:
        """Every series that has points."""
        out: list[Line] = []
        for name, colours in zip(self.names, COLOURS, strict=False):
            short = SHORT_NAMES.get(name, name)
            for prefix, series, colour in (("", train, colours[0]), ("val ", validation, colours[1])):
                points = series.get(name, [])
                if points:
                    out.append((f"{prefix}{short}", colour, points))
        return out

    def _legend(self, shown: list[Line]) -> Text:
        if not shown:
            return Text(" / ".join(SHORT_NAMES.get(n, n) for n in self.names) + ": no steps yet", style="dim")
        legend = Text()
        for label, (r, g, b), _ in shown:
            legend.append("━ ", style=f"rgb({r},{g},{b})")
            legend.append(f"{label} ")
        legend.rstrip()
        return legend

    def show(self, owner: str, train: Series, validation: Series) -> None:
        """Draw `owner`'s series (a run id: two runs of the same length are different curves)."""
        key = (owner, *((n, len(train.get(n, [])), len(validation.get(n, []))) for n in self.names))
        if key == self._shown:
            return
        self._shown = key
        shown = self._lines(train, validation)
        self.query_one(".curves-legend", Static).update(self._legend(shown))
        plt = self.plot.plt
        plt.clear_data()
        plt.clear_figure()
        for _, colour, points in shown:
            plt.plot([s for s, _ in points], [v for _, v in points], color=colour)
        steps = [s for _, _, points in shown for s, _ in points]
        if steps:
            ticks = integer_ticks(steps)
            plt.xticks([float(t) for t in ticks], [str(t) for t in ticks])
        self.plot.refresh()
