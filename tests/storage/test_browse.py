"""The rollout list's filter, on a real database."""

import pytest

from bench import synthetic
from core.config import Config
from storage import browse
from storage.ingest import import_files


@pytest.fixture
def filled(tmp_path, store):
    import_files(store, [synthetic.write_jsonl(tmp_path / "r.jsonl", 60, seed=5)], Config())
    return store


def with_flag(store, check):
    return store.scalar("SELECT count(DISTINCT rollout_id) FROM flags WHERE check_id = ?", [check])


@pytest.mark.parametrize(
    ("word", "check"),
    [
        ("NOTEST", "tests.never_run"),
        ("nostop", "stuck.no_stop"),
        ("Unread", "edit.unread"),
        ("loop", "loop.repeat"),
    ],
)
def test_a_flag_filter_takes_the_badge_as_shown_in_any_case_or_part_of_the_check_id(filled, word, check):
    expected = with_flag(filled, check)
    assert expected > 0
    assert browse.count(filled, browse.Filter(f"flag:{word}")) == expected


def test_part_of_a_check_id_still_matches_every_check_it_names(filled):
    tests_flags = filled.scalar("SELECT count(DISTINCT rollout_id) FROM flags WHERE check_id LIKE 'tests.%'")
    assert browse.count(filled, browse.Filter("flag:tests.")) == tests_flags


def test_a_badges_unambiguous_start_names_its_check_and_an_ambiguous_one_is_not_taken(filled):
    assert browse.count(filled, browse.Filter("flag:norer")) == with_flag(filled, "tests.not_rerun")
    # `no` starts NOTEST, NORERUN, NOPATH and NOSTOP: no one badge is meant, so it is part of an id
    assert browse.count(filled, browse.Filter("flag:no")) == filled.scalar(
        "SELECT count(DISTINCT rollout_id) FROM flags WHERE check_id LIKE '%no%'"
    )


def test_a_flag_filter_naming_no_check_says_so_and_matches_nothing(filled):
    flt = browse.Filter("flag:NOSUCH task:x flag:loop")
    assert flt.unknown_flags() == ["NOSUCH"]
    assert browse.count(filled, browse.Filter("flag:NOSUCH")) == 0
    assert browse.Filter("flag:").unknown_flags() == []  # still being typed: no clause yet
    assert browse.count(filled, browse.Filter("flag:")) == browse.count(filled, browse.Filter(""))
