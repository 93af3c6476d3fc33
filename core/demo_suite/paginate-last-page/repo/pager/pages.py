"""Split result lists into pages."""

from pager.helpers import check_positive


def page_count(total, per_page):
    """How many pages `total` items fill, `per_page` to a page (0 items: 0 pages)."""
    check_positive(per_page, "per_page")
    return total // per_page


def page(items, number, per_page=10):
    """The items on page `number` (1-based); an empty list past the end."""
    check_positive(number, "number")
    check_positive(per_page, "per_page")
    start = (number - 1) * per_page
    return items[start : start + per_page]


def page_links(total, current, per_page=10):
    """Page numbers to link to: previous, current and next, within range."""
    last = page_count(total, per_page)
    links = []
    for number in (current - 1, current, current + 1):
        if 1 <= number <= last:
            links.append(number)
    return links
