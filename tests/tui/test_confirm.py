"""Destructive keys ask first."""

from tui.widgets.confirm import PressTwice


def test_a_cancel_key_asks_before_it_acts():
    confirm = PressTwice()
    assert not confirm.confirmed("run-1")  # the first press only asks
    assert not confirm.confirmed("run-2")  # another target asks again
    assert confirm.confirmed("run-2")
    assert not confirm.confirmed("run-2")  # and each cancel asks anew
