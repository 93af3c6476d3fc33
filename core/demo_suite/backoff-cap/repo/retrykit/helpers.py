"""Randomisation for retry delays."""

import random


def jitter(delay, seed, spread=0.1):
    """`delay` scaled by a factor in [1 - spread, 1 + spread], fixed by `seed`."""
    factor = random.Random(seed).uniform(1 - spread, 1 + spread)
    return delay * factor
