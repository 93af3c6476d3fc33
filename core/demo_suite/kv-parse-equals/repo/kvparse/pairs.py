"""Parse "key=value" settings strings such as "a=1; b=two"."""

from kvparse.helpers import coerce


def parse_pair(text):
    """("key", value) from "key=value"; the value may itself contain "="."""
    if "=" not in text:
        raise ValueError(f"expected key=value, got {text!r}")
    key, value = text.split("=")[:2]
    return key.strip(), coerce(value.strip())


def parse(text, separator=";"):
    """A dict from "a=1; b=two"; empty parts are skipped."""
    result = {}
    for part in text.split(separator):
        if part.strip():
            key, value = parse_pair(part)
            result[key] = value
    return result


def dump(mapping, separator="; "):
    """The inverse of parse()."""
    return separator.join(f"{key}={value}" for key, value in mapping.items())
