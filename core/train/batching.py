"""Batches of similar length, in a shuffled order.

TRL pads every example of a batch to the batch's longest. The demo's step pairs range from
60 to 2,000 prompt tokens (most lessons live in a rollout's first steps), so a random batch of
eight usually carries one long prompt and pads the other seven to it: most of a CPU run went
into padding. Sorting by length, cutting into batches and shuffling the batches keeps
each batch tight and the order of lessons random; the batches' contents are the same every
epoch, their order is not.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence


class LengthBucketSampler:
    """Indices of examples sorted by `lengths`, cut into `batch_size` runs whose order is shuffled
    per epoch (seeded: a resumed run sees the same order). A DataLoader takes any sized iterable
    of indices as its sampler, so this module needs no torch."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0) -> None:
        self.lengths = list(lengths)
        self.batch_size = max(1, batch_size)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        by_length = sorted(range(len(self.lengths)), key=lambda i: (self.lengths[i], i))
        batches = [by_length[i : i + self.batch_size] for i in range(0, len(by_length), self.batch_size)]
        random.Random(self.seed * 1_000_003 + self.epoch).shuffle(batches)
        return iter([i for batch in batches for i in batch])
