from uniq.dedupe import duplicates, unique, unique_by


def test_unique_keeps_order():
    assert unique([3, 1, 3, 2, 1]) == [3, 1, 2]


def test_unique_by_field():
    records = [{"email": "A@x.org", "n": 1}, {"email": "a@x.org", "n": 2}, {"email": "b@x.org", "n": 3}]
    assert [r["n"] for r in unique_by(records, "email")] == [1, 3]


def test_duplicates():
    assert duplicates([3, 1, 3, 2, 1]) == [1, 3]
