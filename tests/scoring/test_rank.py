"""Ranking: tie-breaks, flags, breakdowns, panels and properties."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import Review, ScoreError, combine_panels, get_rubric, load_rubric_text, rank

FAST = settings(max_examples=100, deadline=None)
SIMPLE = get_rubric("simple")  # one criterion "overall", 1..10


def mark(app: str, juror: str, score: float | None, **kw) -> Review:
    return Review(app, juror, {"overall": score}, **kw)


def test_rows_carry_score_count_breakdown_spread_and_rank():
    rows = rank(SIMPLE, [mark("A", "j1", 10), mark("A", "j2", 7), mark("B", "j1", 4)])
    assert [(r.rank, r.application) for r in rows] == [(1, "A"), (2, "B")]
    a = rows[0]
    assert a.score == pytest.approx((100 + 100 * 6 / 9) / 2)
    assert a.reviews == 2 and a.breakdown == {"overall": 8.5}
    assert a.spread == pytest.approx(100 * 3 / 9)
    assert a.panel_scores == {"default": pytest.approx(a.score)}


def test_ties_break_on_reviews_then_spread_then_id():
    reviews = [
        mark("zeta", "j1", 6),
        mark("zeta", "j2", 6),  # 2 reviews, spread 0
        mark("alpha", "j1", 6),  # same score, fewer reviews
        mark("mid", "j1", 5),
        mark("mid", "j2", 7),  # same score and count, larger spread
        mark("beta", "j3", 6),  # same as alpha: id decides
    ]
    assert [r.application for r in rank(SIMPLE, reviews)] == ["zeta", "mid", "alpha", "beta"]


def test_abstentions_and_empty_reviews_are_not_counted():
    rows = rank(
        SIMPLE,
        [
            mark("A", "j1", 8),
            mark("A", "j2", None),
            mark("A", "j3", 2, abstain=True),
            mark("B", "j1", None),
        ],
        expected_reviews=2,
    )
    a, b = rows
    assert (a.reviews, a.abstentions, a.flags) == (1, 2, ("too-few-reviews",))
    assert (b.rank, b.score, b.reviews) == (None, None, 0)
    assert b.flags == ("too-few-reviews", "no-reviews")


def test_high_disagreement_flag_uses_spread_threshold():
    reviews = [mark("A", "j1", 1), mark("A", "j2", 10), mark("B", "j1", 5), mark("B", "j2", 6)]
    flags = {r.application: r.flags for r in rank(SIMPLE, reviews)}
    assert flags == {"A": ("high-disagreement",), "B": ()}
    assert rank(SIMPLE, reviews, disagreement_threshold=100)[0].flags == ()


def test_gate_fails_on_majority_or_any_review(rubric_text):
    rubric = load_rubric_text(rubric_text)  # needs: min_to_pass 2
    reviews = [
        Review("A", "j1", {"needs": 1, "design": 5}),
        Review("A", "j2", {"needs": 4, "design": 5}),
        Review("A", "j3", {"needs": 4, "design": 5}),
        Review("B", "j1", {"needs": 1, "design": 3}),
        Review("B", "j2", {"needs": 0, "design": 3}),
    ]
    majority = {r.application: r for r in rank(rubric, reviews)}
    assert majority["A"].failed_gates == () and majority["B"].failed_gates == ("needs",)
    assert "failed-gate" not in majority["A"].flags
    assert "failed-gate" in majority["B"].flags
    strict = {r.application: r.flags for r in rank(rubric, reviews, gate_rule="any")}
    assert "failed-gate" in strict["A"]
    gates_first = rank(
        rubric, reviews + [Review("C", "j1", {"needs": 0, "design": 1})], ranker="gates-first"
    )
    assert [r.application for r in gates_first] == ["A", "B", "C"]


def test_bad_scores_are_all_reported():
    with pytest.raises(ScoreError) as info:
        rank(SIMPLE, [mark("A", "j1", 11), Review("B", "j1", {"typo": 3}), mark("B", "j1", 2)])
    assert info.value.errors == [
        "application 'A', juror 'j1', criterion 'overall': score 11 is outside the scale 1..10",
        "application 'B', juror 'j1': unknown criterion 'typo'",
        "application 'B', juror 'j1': more than one review",
    ]


def test_panels_are_scored_separately_and_combined_by_weight():
    reviews = [
        mark("A", "e1", 10, panel="expert"),
        mark("A", "y1", 1, panel="youth"),
        mark("B", "e1", 1, panel="expert"),
        mark("B", "y1", 10, panel="youth"),
        mark("C", "e1", 7, panel="expert"),  # no youth review
    ]
    rows = {
        r.application: r for r in rank(SIMPLE, reviews, panel_weights={"expert": 3, "youth": 1})
    }
    assert rows["A"].panel_scores == {"expert": 100.0, "youth": 0.0}
    assert rows["A"].score == pytest.approx(75.0)
    assert rows["B"].score == pytest.approx(25.0)
    # A missing panel is left out and the other weights renormalised; the row is flagged.
    assert rows["C"].score == pytest.approx(100 * 6 / 9) and "missing-panel" in rows["C"].flags
    assert combine_panels(
        {"expert": {"A": 80.0}, "youth": {"A": 40.0}}, {"expert": 1, "youth": 1}
    ) == {"A": 60.0}
    with pytest.raises(ValueError, match="without a weight: youth"):
        rank(SIMPLE, reviews, panel_weights={"expert": 1})


class DroppingRanker:
    name = "drops-the-last"
    description = "a broken plugin: loses a row"

    def order(self, rows):
        return sorted(rows, key=lambda r: r.application)[:-1]


def test_a_ranker_must_return_exactly_the_rows_it_was_given():
    reviews = [mark("A", "j1", 9), mark("B", "j1", 3)]
    with pytest.raises(ValueError, match="ranker 'drops-the-last' did not return exactly"):
        rank(SIMPLE, reviews, ranker=DroppingRanker())


# --------------------------------------------------------------------------- properties

PRIZE = get_rubric("prevention-prize")
review_st = st.builds(
    Review,
    application=st.sampled_from(["a1", "a2", "a3", "a4", "a5", "a6"]),
    juror=st.sampled_from(["j1", "j2", "j3", "j4"]),
    scores=st.fixed_dictionaries(
        {c.id: st.one_of(st.none(), st.integers(0, 5)) for c in PRIZE.criteria}
    ),
    abstain=st.booleans(),
)
reviews_st = st.lists(review_st, max_size=20, unique_by=lambda r: (r.application, r.juror))
aggregators = st.sampled_from(["weighted-mean", "median", "trimmed-mean", "z-score"])


def summary(rows):
    return [
        (r.rank, r.application, round(r.score, 6) if r.score is not None else None, r.flags)
        for r in rows
    ]


@FAST
@given(reviews=reviews_st, aggregator=aggregators, seed=st.integers(0, 10_000))
def test_ranking_is_deterministic_and_order_independent(reviews, aggregator, seed):
    first = rank(PRIZE, reviews, aggregator=aggregator, expected_reviews=2)
    shuffled = list(reviews)
    random.Random(seed).shuffle(shuffled)
    assert summary(rank(PRIZE, shuffled, aggregator=aggregator, expected_reviews=2)) == summary(
        first
    )
    ranked = [r for r in first if r.rank is not None]
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(0 <= r.score <= 100 for r in ranked)
    scores = [round(r.score, 9) for r in ranked]
    assert scores == sorted(scores, reverse=True)


@FAST
@given(
    quality=st.lists(st.integers(1, 4), min_size=2, max_size=5),
    offsets=st.lists(st.integers(0, 1), min_size=2, max_size=4),
)
def test_z_score_ranking_equals_mean_ranking_when_jurors_share_offsets(quality, offsets):
    # Every juror reviews every application; juror j marks q + offset_j on all criteria.
    reviews = [
        Review(f"app{i}", f"j{j}", {c.id: q + off for c in PRIZE.criteria})
        for i, q in enumerate(quality)
        for j, off in enumerate(offsets)
    ]
    z = rank(PRIZE, reviews, aggregator="z-score")
    mean = rank(PRIZE, reviews, aggregator="weighted-mean")
    assert [r.application for r in z] == [r.application for r in mean]
    assert [r.score for r in z] == pytest.approx([r.score for r in mean])
