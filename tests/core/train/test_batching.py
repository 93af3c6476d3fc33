"""Batches of similar length, in a shuffled order."""

from core.train.batching import LengthBucketSampler

LENGTHS = [60, 2000, 75, 1500, 62, 300, 80, 90, 1800, 70, 65, 400]


def batches(sampler: LengthBucketSampler, size: int) -> list[list[int]]:
    order = list(sampler)
    return [order[i : i + size] for i in range(0, len(order), size)]


def test_every_example_once_in_batches_of_neighbouring_lengths():
    sampler = LengthBucketSampler(LENGTHS, batch_size=4, seed=0)
    order = list(sampler)
    assert sorted(order) == list(range(len(LENGTHS))) and len(sampler) == len(LENGTHS)
    ranked = sorted(range(len(LENGTHS)), key=lambda i: LENGTHS[i])
    expected = [set(ranked[i : i + 4]) for i in range(0, len(ranked), 4)]
    assert sorted(map(set, batches(sampler, 4)), key=min) == sorted(expected, key=min)
    # Padding to each batch's longest: far less than random batches pad to.
    padded = sum(max(LENGTHS[i] for i in b) * len(b) for b in batches(sampler, 4))
    assert padded < 0.6 * 4 * 3 * max(LENGTHS)


def test_order_is_seeded_per_epoch():
    one, again = LengthBucketSampler(LENGTHS, 2, seed=3), LengthBucketSampler(LENGTHS, 2, seed=3)
    assert list(one) == list(again)  # a resumed run sees the same order
    orders = set()
    for epoch in range(6):
        one.set_epoch(epoch)
        orders.add(tuple(one))
    assert len(orders) > 1  # ...and each epoch its own
