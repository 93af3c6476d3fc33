from timefmt.stamps import from_iso, to_iso, to_log_stamp


def test_epoch_is_utc():
    assert to_iso(0) == "1970-01-01T00:00:00+00:00"


def test_milliseconds_are_accepted():
    assert to_log_stamp(1_700_000_000_000) == "20231114-221320Z"


def test_parse_with_offset():
    assert from_iso("2024-02-29T12:00:00+00:00") == 1709208000
