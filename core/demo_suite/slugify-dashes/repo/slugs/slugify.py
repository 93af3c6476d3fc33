"""Turn titles into URL slugs."""

import re

from slugs.helpers import strip_accents

MAX_LENGTH = 60


def slugify(title, max_length=MAX_LENGTH):
    """Lower-case ASCII words joined by single dashes: "Hello, World!" -> "hello-world"."""
    text = strip_accents(title).lower()
    text = re.sub(r"[^a-z0-9]", "-", text)
    text = text.strip("-")
    if len(text) > max_length:
        text = text[:max_length].rstrip("-")
    return text


def unique_slug(title, taken):
    """A slug that is not in `taken`, adding -2, -3, ... when needed."""
    base = slugify(title)
    slug = base
    counter = 2
    while slug in taken:
        slug = f"{base}-{counter}"
        counter += 1
    return slug
