import pytest

from appconfig.settings import base_url, load_settings, retry_budget


def test_defaults():
    assert base_url(load_settings({})) == "http://localhost:8080"


def test_unknown_key_rejected():
    with pytest.raises(KeyError):
        load_settings({"colour": "blue"})


def test_duration_parsed():
    assert load_settings({"timeout_s": "2m"})["timeout_s"] == 120


def test_retry_budget_counts_every_attempt():
    settings = load_settings({"timeout_s": "10s", "retries": 2})
    assert retry_budget(settings) == 30
