"""Agreement statistics against published examples, label policies, overlap and check trust."""

import math

import pytest

from core.agreement import stats
from core.agreement.labels import (
    BOTH_BAD,
    BOTH_GOOD,
    OTHER,
    PROPOSED,
    LabelPolicy,
    category,
    disagree,
    overlap_target,
    resolve,
)
from core.agreement.report import Rating, build_report, check_trust, conflicts
from core.schema import Decision, Preference

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers,
# twelve units, values 1-5, missing data (None). Nominal alpha = 0.743.
KRIPPENDORFF_C = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def units_of(coders):
    """Reliability data (a row per coder) as units: the values each unit got, blanks left out."""
    return [[row[i] for row in coders if row[i] is not None] for i in range(len(coders[0]))]


def test_nominal_alpha_matches_krippendorffs_worked_example_with_missing_data():
    assert stats.krippendorff_alpha(units_of(KRIPPENDORFF_C)) == pytest.approx(0.743, abs=5e-4)
    # The values are names, not numbers: any labels give the same nominal alpha.
    named = [[f"v{v}" if v is not None else None for v in row] for row in KRIPPENDORFF_C]
    assert stats.krippendorff_alpha(units_of(named)) == pytest.approx(0.743, abs=5e-4)


def test_nominal_alpha_matches_krippendorffs_binary_two_observer_example():
    # Same paper, section A: alpha = 0.095.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert stats.krippendorff_alpha(units_of([a, b])) == pytest.approx(0.095, abs=5e-4)


def test_cohens_kappa_matches_the_textbook_example():
    # Wikipedia's "Cohen's kappa" example: 50 proposals, both yes 20, A yes B no 5,
    # A no B yes 10, both no 15 -> p_o = 0.7, p_e = 0.5, kappa = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert stats.cohen_kappa(a, b) == pytest.approx(0.4)
    assert stats.cohen_kappa(b, a) == pytest.approx(0.4)


def test_the_bootstraps_alpha_is_the_packages_alpha():
    import random

    import numpy as np

    rng = random.Random(5)
    tables = [units_of(KRIPPENDORFF_C)]
    for _ in range(20):
        tables.append([rng.choices("abcd", k=rng.choice([1, 2, 3, 4])) for _ in range(rng.randint(2, 40))])
    for units in tables:
        categories = sorted({v for u in units for v in u}, key=str)
        counts, agreeing = stats.nominal_alpha_parts(stats.value_counts(units, categories))
        fast = stats.nominal_alpha_weighted(counts, agreeing, np.ones(counts.shape[0]))
        slow = stats.krippendorff_alpha(units)
        assert (fast is None and slow is None) or fast == pytest.approx(slow)


def test_undefined_statistics_are_none_not_nan():
    assert stats.cohen_kappa(["a", "a"], ["a", "a"]) is None  # one category throughout
    assert stats.cohen_kappa([], []) is None
    assert stats.cohen_kappa(["a", "b"], ["a", "b"]) == pytest.approx(1.0)
    assert stats.krippendorff_alpha([["a", "a"], ["a", "a"]]) is None
    assert stats.krippendorff_alpha([["a"], ["b"]]) is None  # no unit rated twice
    assert stats.krippendorff_alpha([]) is None
    with pytest.raises(ValueError, match="same items"):
        stats.cohen_kappa(["a"], ["a", "b"])


def test_bootstrap_intervals_are_seeded_and_hold_the_estimate():
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    low, high = stats.kappa_interval(a, b, resamples=500, seed=7)
    assert low < 0.4 < high and low >= -1 and high <= 1
    assert stats.kappa_interval(a, b, resamples=500, seed=7) == (low, high)
    units = units_of(KRIPPENDORFF_C)
    first = stats.alpha_interval(units, resamples=300, seed=1)
    assert first == stats.alpha_interval(units, resamples=300, seed=1)
    assert first[0] < 0.743 <= first[1]
    assert stats.kappa_interval(["a"], ["b"]) is None  # one item: nothing to resample


def test_wilson_interval_closed_forms():
    z2 = 1.959963984540054**2
    assert stats.wilson_interval(0, 10) == (0.0, pytest.approx(z2 / (10 + z2)))
    assert stats.wilson_interval(10, 10) == (pytest.approx(10 / (10 + z2)), 1.0)
    low, high = stats.wilson_interval(5, 10)
    assert low == pytest.approx(1 - high) and low < 0.5 < high
    assert stats.wilson_interval(0, 0) is None


def pref(pid, annotator, decision="prefer", chosen="a", adjudicated=False):
    return Preference(
        id=pid,
        pair_id=1,
        annotator=annotator,
        decision=Decision(decision),
        chosen_id=chosen if decision == "prefer" else None,
        adjudicated=adjudicated,
    )


@pytest.mark.parametrize(
    ("votes", "latest", "majority", "adjudicated"),
    [
        # one annotator: every policy takes their decision
        ([pref(1, "ann")], 1, 1, 1),
        # unanimous
        ([pref(1, "ann"), pref(2, "bob")], 2, 2, 2),
        # a 1-1 tie: majority and adjudicated drop it, latest takes the newest
        ([pref(1, "ann"), pref(2, "bob", chosen="b")], 2, None, None),
        # 2-1: majority takes the two (the newer of them); adjudicated wants unanimity
        ([pref(1, "ann"), pref(2, "bob", chosen="b"), pref(3, "cy")], 3, 3, None),
        ([pref(1, "ann"), pref(3, "bob", "both_bad"), pref(2, "cy")], 3, 2, None),
        # an adjudication settles the pair (against the majority too), except under latest
        ([pref(1, "ann"), pref(2, "bob", chosen="b"), pref(3, "dee", chosen="b", adjudicated=True)], 3, 3, 3),
        ([pref(4, "ann"), pref(5, "bob"), pref(3, "dee", chosen="b", adjudicated=True)], 5, 3, 3),
        ([], None, None, None),
    ],
)
def test_label_policies(votes, latest, majority, adjudicated):
    for policy, expected in zip(LabelPolicy, (latest, majority, adjudicated), strict=True):
        standing = resolve(votes, policy)
        assert (standing.id if standing else None) == expected, policy


def test_disagreement_is_about_votes_not_adjudications():
    assert disagree([pref(1, "ann"), pref(2, "bob", chosen="b")])
    assert not disagree([pref(1, "ann"), pref(2, "bob", chosen="b", adjudicated=True)])


def test_categories_are_relative_to_the_side_the_checks_proposed():
    assert category(Decision.PREFER, "x", proposed_id="x") == PROPOSED
    assert category(Decision.PREFER, "y", proposed_id="x") == OTHER
    assert category(Decision.BOTH_BAD, None, proposed_id="x") == BOTH_BAD
    assert category(Decision.SKIP, None, proposed_id="x") is None


def test_the_overlap_share_is_chosen_by_a_stable_hash_of_the_pair():
    keys = [f"r{i}|s{i}" for i in range(4000)]
    assert {overlap_target(k, 3, 1.0) for k in keys} == {3}
    assert {overlap_target(k, 3, 0.0) for k in keys} == {1}
    assert {overlap_target(k, 1, 0.5) for k in keys} == {1}
    chosen = [k for k in keys if overlap_target(k, 2, 0.25) == 2]
    assert abs(len(chosen) / len(keys) - 0.25) < 0.03
    assert chosen == [k for k in keys if overlap_target(k, 2, 0.25) == 2]  # every process agrees
    assert set(chosen) <= {k for k in keys if overlap_target(k, 2, 0.5) == 2}  # a larger share holds it


def rating(pair_id, annotator, cat, proposed=(), other=("tests.never_run",), adjudicated=False):
    return Rating(pair_id, "t1", annotator, cat, frozenset(proposed), frozenset(other), adjudicated)


def test_a_check_people_overrule_is_the_least_trusted():
    ratings = []
    for i in range(10):  # the checks' side is the one without tests.never_run: people agree
        ratings.append(rating(i, "ann", PROPOSED))
    for i in range(10, 16):  # a check that flags the side people choose
        ratings.append(rating(i, "ann", PROPOSED if i < 11 else OTHER, other=("bad.check",)))
    ratings.append(rating(16, "ann", BOTH_GOOD, other=("bad.check",)))
    ratings.append(rating(17, "ann", PROPOSED, proposed=("x",), other=("x",)))  # not decided by x
    table = check_trust(ratings)
    assert [t.check for t in table] == ["bad.check", "tests.never_run"]
    bad, good = table
    assert (bad.decided, bad.agreed, bad.ties) == (6, 1, 1) and bad.precision == pytest.approx(1 / 6)
    assert [d.pair_id for d in bad.disagreements] == [11, 12, 13, 14, 15]
    assert (good.decided, good.agreed, good.precision, good.disagreements) == (10, 10, 1.0, [])
    assert good.interval[1] == 1.0 and bad.interval[0] < 1 / 6 < bad.interval[1]


def test_conflicts_are_pairs_whose_votes_differ_until_adjudicated():
    ratings = [
        rating(1, "ann", PROPOSED),
        rating(1, "bob", OTHER),
        rating(2, "ann", PROPOSED),
        rating(2, "bob", PROPOSED),
        rating(3, "ann", BOTH_BAD),
        rating(3, "bob", PROPOSED),
        rating(3, "cy", PROPOSED, adjudicated=True),
    ]
    (only,) = conflicts(ratings)
    assert (only.pair_id, only.votes) == (1, {"ann": PROPOSED, "bob": OTHER})


def test_the_report_measures_named_annotators_votes_only():
    a = [PROPOSED] * 25 + [OTHER] * 25
    b = [PROPOSED] * 20 + [OTHER] * 5 + [PROPOSED] * 10 + [OTHER] * 15
    ratings = [rating(i, "ann", x) for i, x in enumerate(a)] + [rating(i, "bob", x) for i, x in enumerate(b)]
    # Neither an unnamed (older) decision nor an adjudication counts for agreement.
    ratings += [rating(0, "", OTHER), rating(20, "cy", OTHER, adjudicated=True)]
    report = build_report(ratings, resamples=200, seed=3)
    (pairwise,) = report.pairwise
    assert pairwise.annotators == ("ann", "bob") and (pairwise.shared, pairwise.agreed) == (50, 35)
    assert pairwise.kappa == pytest.approx(0.4)
    assert report.overall.items == 50 and report.overall.annotators == ["ann", "bob"]
    assert report.overall.alpha == pytest.approx(stats.krippendorff_alpha(list(zip(a, b, strict=True))))
    assert report.annotators == {"": 1, "ann": 50, "bob": 50, "cy": 1}
    assert report.categories == [PROPOSED, OTHER, BOTH_GOOD, BOTH_BAD]
    # Pairs 20-34 are decided differently; 20 is adjudicated; on 0 the unnamed vote differs.
    assert [c.pair_id for c in report.conflicts] == [0, *range(21, 35)]
    data = report.model_dump(mode="json")
    assert set(data) == {
        "categories",
        "annotators",
        "pairwise",
        "overall",
        "checks",
        "conflicts",
        "confidence",
        "resamples",
        "seed",
    }
    assert isinstance(data["pairwise"][0]["interval"], list)
    assert not any(isinstance(v, float) and math.isnan(v) for v in data["overall"].values())


def test_an_empty_report_is_well_formed():
    report = build_report([])
    assert report.pairwise == [] and report.overall.alpha is None and report.overall.interval is None
    assert report.checks == [] and report.conflicts == [] and report.annotators == {}
