from taglib.tags import add_tags, remove_tag, tag_counts


def test_add_to_existing_list():
    assert add_tags(["B"], ["a"]) == ["a", "b"]


def test_add_tags_normalises():
    assert add_tags(["Python ", "python", "Command Line"]) == ["python", "command-line"]


def test_calls_do_not_share_state():
    add_tags(["alpha"])
    assert add_tags(["beta"]) == ["beta"]


def test_remove_and_count():
    assert remove_tag(["a", "b"], " A ") == ["b"]
    assert tag_counts([{"tags": ["a"]}, {"tags": ["a", "b"]}, {}]) == {"a": 2, "b": 1}
