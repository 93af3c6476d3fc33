"""Training curves (textual-plotext): loss, and reward accuracy and margin, train and validation."""

from __future__ import annotations

from textual_plotext import PlotextPlot

Series = dict[str, list[tuple[int, float]]]


class Curves(PlotextPlot):
    """One small chart of a few metric series; redrawn only when the data changed."""

    def __init__(self, title: str, names: list[str], id: str | None = None) -> None:
        super().__init__(id=id)
        self.title, self.names = title, names
        self._shown: tuple[object, ...] = ()

    def show(self, owner: str, train: Series, validation: Series) -> None:
        """Draw `owner`'s series (a run id: two runs of the same length are different curves)."""
        key = (owner, *((n, len(train.get(n, [])), len(validation.get(n, []))) for n in self.names))
        if key == self._shown:
            return
        self._shown = key
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        for name in self.names:
            for label, series in (("", train), ("val ", validation)):
                points = series.get(name, [])
                if points:
                    plt.plot([s for s, _ in points], [v for _, v in points], label=f"{label}{name}")
        plt.xlabel("step")
        self.refresh()
