from pager.pages import page, page_count, page_links


def test_exact_pages():
    assert page_count(20, 10) == 2


def test_partial_last_page_counts():
    assert page_count(21, 10) == 3


def test_second_page():
    assert page(list(range(25)), 2) == list(range(10, 20))


def test_links_in_the_middle():
    assert page_links(50, 3) == [2, 3, 4]
