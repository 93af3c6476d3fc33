from wordfreq.counts import most_common, word_counts


def test_counts_simple():
    assert word_counts("red blue red") == {"red": 2, "blue": 1}


def test_case_is_ignored():
    assert word_counts("The cat and the hat") == {"the": 2, "cat": 1, "and": 1, "hat": 1}


def test_most_common_skips_stopwords():
    assert most_common("to be or not to be", 2) == [("be", 2), ("not", 1)]
