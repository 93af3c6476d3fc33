"""Several annotators: which decision of a pair stands, and how far people and checks agree.

`labels` is cheap and imported by the store (label policies, overlap, categories); `stats`
holds the statistics (numpy and the `krippendorff` package, imported only where a report is
built); `report` turns ratings into the typed report the CLI prints and the TUI shows.
"""
