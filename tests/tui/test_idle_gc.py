"""Full collections run between keys, not on them, and an idle app does not collect at all."""

import gc

import pytest

from tui import idle_gc
from tui.idle_gc import IDLE_S, THRESHOLDS, IdleCollector


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(idle_gc.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def collector(clock):
    collector = IdleCollector()
    collector.start()
    yield collector
    collector.stop()


def test_a_full_collection_waits_until_keys_stop(collector, clock):
    collector.saw_input()
    clock[0] += IDLE_S / 2
    assert not collector.collect_if_idle()  # still typing
    clock[0] += IDLE_S
    assert collector.collect_if_idle() and collector.collections == 1
    clock[0] += 10 * IDLE_S
    assert not collector.collect_if_idle()  # nothing happened since: an idle app does not collect


def test_cycles_left_by_a_closed_screen_are_freed_once_idle(collector, clock):
    class Node:
        pass

    for _ in range(1000):  # a screen's worth of widgets pointing at each other
        a, b = Node(), Node()
        a.other, b.other = b, a
    del a, b
    collector.saw_input()
    clock[0] += IDLE_S
    collector.collect_if_idle()
    assert not any(isinstance(o, Node) for o in gc.get_objects())


def test_the_app_restores_the_collectors_settings_when_it_ends():
    before = gc.get_threshold()
    collector = IdleCollector()
    collector.start()
    assert gc.get_threshold() == THRESHOLDS
    collector.stop()
    assert gc.get_threshold() == before


def test_held_from_the_mount_the_young_collections_are_rarer_and_start_up_is_not_frozen_yet():
    before = gc.get_threshold()
    collector = IdleCollector()
    collector.hold()
    assert gc.get_threshold() == THRESHOLDS and gc.get_freeze_count() == 0
    collector.start()  # once the first screen is drawn: what start-up built is frozen
    assert gc.get_freeze_count() > 0
    collector.stop()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
