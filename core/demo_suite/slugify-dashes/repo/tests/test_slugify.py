from slugs.slugify import slugify, unique_slug


def test_simple_title():
    assert slugify("Release") == "release"


def test_punctuation_becomes_single_dash():
    assert slugify("Hello, World!") == "hello-world"


def test_accents_are_removed():
    assert slugify("Crème") == "creme"


def test_unique_slug_adds_counter():
    assert unique_slug("Release", {"release"}) == "release-2"
