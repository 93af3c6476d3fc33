"""Word frequencies for short texts."""

from wordfreq.helpers import tokenize

STOPWORDS = {"a", "an", "and", "of", "the", "to"}


def word_counts(text, skip_stopwords=False):
    """How often each word occurs, ignoring case ("The the" counts "the" twice)."""
    counts: dict[str, int] = {}
    for word in tokenize(text):
        if skip_stopwords and word in STOPWORDS:
            continue
        counts[word] = counts.get(word, 0) + 1
    return counts


def most_common(text, n=3, skip_stopwords=True):
    """The `n` most frequent words, most frequent first, ties alphabetical."""
    counts = word_counts(text, skip_stopwords)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ordered[:n]


def vocabulary(text):
    """The distinct words of `text`, sorted."""
    return sorted(word_counts(text))
