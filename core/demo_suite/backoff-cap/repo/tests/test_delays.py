import pytest

from retrykit.delays import delay_for, jittered_schedule, schedule, total_wait


def test_negative_attempt_rejected():
    with pytest.raises(ValueError):
        delay_for(-1)


def test_schedule_doubles_until_cap():
    assert schedule(5, base=1.0, cap=10.0) == [1.0, 2.0, 4.0, 8.0, 10.0]


def test_no_retries_no_wait():
    assert total_wait(0) == 0


def test_jitter_stays_close():
    plain = schedule(4)
    for delay, jittered in zip(plain, jittered_schedule(4, seed=7)):
        assert 0.9 * delay <= jittered <= 1.1 * delay
