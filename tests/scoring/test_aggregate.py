"""Review values and aggregators: formulas, edge rules and properties."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import ScoreError, get_aggregator, get_rubric, load_rubric_text, review_value

FAST = settings(max_examples=100, deadline=None)


def test_review_value_is_weighted_mean_of_normalised_scores(rubric_text):
    rubric = load_rubric_text(rubric_text)
    # needs 3 on 0..4 -> 0.75 (weight 2); design 5 on 1..5 -> 1.0 (weight 1)
    assert review_value(rubric, {"needs": 3, "design": 5}) == pytest.approx(
        100 * (2 * 0.75 + 1) / 3
    )


def test_missing_criterion_renormalises_weights_and_empty_review_abstains(rubric_text):
    rubric = load_rubric_text(rubric_text)
    assert review_value(rubric, {"needs": 2, "design": None}) == pytest.approx(50.0)
    assert review_value(rubric, {"design": None}) is None


def test_review_value_rejects_scores_off_the_rubric(rubric_text):
    rubric = load_rubric_text(rubric_text)
    with pytest.raises(ScoreError) as info:
        review_value(rubric, {"needs": 9, "other": 1})
    assert info.value.errors == [
        "unknown criterion 'other'",
        "criterion 'needs': score 9 is outside the scale 0..4",
    ]


def test_builtin_aggregators_on_a_small_example():
    values = [("A", "j1", 10.0), ("A", "j2", 50.0), ("A", "j3", 60.0), ("B", "j1", 40.0)]
    assert get_aggregator("weighted-mean").aggregate(values) == {"A": 40.0, "B": 40.0}
    assert get_aggregator("median").aggregate(values) == {"A": 50.0, "B": 40.0}
    assert get_aggregator("trimmed-mean").aggregate(values) == {"A": 50.0, "B": 40.0}


def test_z_score_evens_out_a_lenient_juror():
    # j2 is 30 points more generous on every application they share with j1.
    values = [
        ("A", "j1", 40.0),
        ("B", "j1", 60.0),
        ("A", "j2", 70.0),
        ("B", "j2", 90.0),
        ("C", "j1", 50.0),
        ("C", "j2", 80.0),
    ]
    z = get_aggregator("z-score").aggregate(values)
    mean = get_aggregator("weighted-mean").aggregate(values)
    assert z == pytest.approx(mean)  # complete design: offsets cancel, scores equal the mean
    assert sorted(z, key=z.get) == ["A", "C", "B"]


def test_z_score_single_review_and_flat_juror_rules():
    values = [
        ("A", "solo", 90.0),
        ("A", "flat", 30.0),
        ("B", "flat", 30.0),
        ("B", "j", 20.0),
        ("C", "j", 80.0),
    ]
    z = get_aggregator("z-score").aggregate(values)
    overall_mean = sum(v for *_, v in values) / len(values)  # 50
    # solo keeps 90 (no basis to correct); flat reviews become the overall mean.
    assert z["A"] == pytest.approx((90.0 + overall_mean) / 2)


# --------------------------------------------------------------------------- properties

value_st = st.floats(min_value=0, max_value=100, allow_nan=False)
review_values_st = st.lists(
    st.tuples(st.sampled_from("ABCDE"), st.sampled_from(["j1", "j2", "j3", "j4"]), value_st),
    min_size=1,
    max_size=30,
    unique_by=lambda t: (t[0], t[1]),
)
names = st.sampled_from(["weighted-mean", "median", "trimmed-mean", "z-score"])


@FAST
@given(values=review_values_st, name=names, seed=st.integers(0, 10_000))
def test_scores_are_bounded_and_ignore_review_order(values, name, seed):
    aggregator = get_aggregator(name)
    scores = aggregator.aggregate(values)
    shuffled = list(values)
    random.Random(seed).shuffle(shuffled)
    assert scores == pytest.approx(aggregator.aggregate(shuffled))
    assert set(scores) == {app for app, _, _ in values}
    assert all(-1e-9 <= s <= 100 + 1e-9 for s in scores.values())


@FAST
@given(values=review_values_st, name=names)
def test_renaming_jurors_changes_nothing(values, name):
    renamed = [(app, f"x-{juror[::-1]}", v) for app, juror, v in values]
    aggregator = get_aggregator(name)
    assert aggregator.aggregate(renamed) == pytest.approx(aggregator.aggregate(values))


@FAST
@given(
    quality=st.lists(st.integers(20, 80), min_size=2, max_size=6, unique=True),
    offsets=st.lists(st.integers(-15, 15), min_size=2, max_size=5),
    same_offset=st.booleans(),
)
def test_z_score_equals_mean_when_jurors_differ_only_by_offset(quality, offsets, same_offset):
    if same_offset:
        offsets = [offsets[0]] * len(offsets)
    values = [
        (f"app{i}", f"j{j}", float(q + off))
        for i, q in enumerate(quality)
        for j, off in enumerate(offsets)
    ]
    z = get_aggregator("z-score").aggregate(values)
    mean = get_aggregator("weighted-mean").aggregate(values)
    assert z == pytest.approx(mean, abs=1e-6)
    assert sorted(z, key=lambda a: (-round(z[a], 6), a)) == sorted(
        mean, key=lambda a: (-round(mean[a], 6), a)
    )


PRIZE = get_rubric("prevention-prize")
prize_scores = st.fixed_dictionaries(
    {c.id: st.one_of(st.none(), st.sampled_from(c.scale.levels)) for c in PRIZE.criteria}
)


@FAST
@given(base=prize_scores, criterion=st.sampled_from(PRIZE.criterion_ids))
def test_raising_a_criterion_never_lowers_the_review_value(base, criterion):
    before = review_value(PRIZE, base)
    current = base[criterion]
    raised = dict(base, **{criterion: min((current or 0) + 1, 5) if current is not None else 5})
    after = review_value(PRIZE, raised)
    if before is None:
        assert after is not None  # scoring a criterion turns an abstention into a review
    elif current is not None:
        assert after >= before
