"""Benchmark: rank 10,000 applications x 5 reviews x 8 criteria (not collected by pytest).

Run: .venv/bin/python tests/bench/bench_scoring.py  — exits 1 if any case exceeds the target.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout

from scoring import Review, get_rubric, rank  # noqa: E402

TARGET_SECONDS = 1.0
APPLICATIONS, REVIEWS_PER_APP, JURORS = 10_000, 5, 200


def make_reviews() -> list[Review]:
    rubric = get_rubric("prevention-prize")
    rng = random.Random(42)
    ids = rubric.criterion_ids
    reviews = []
    for a in range(APPLICATIONS):
        for juror in rng.sample(range(JURORS), REVIEWS_PER_APP):
            scores = {cid: rng.randint(0, 5) for cid in ids}
            reviews.append(Review(f"app-{a:05d}", f"juror-{juror:03d}", scores))
    return reviews


def main() -> int:
    rubric = get_rubric("prevention-prize")
    reviews = make_reviews()
    assert len(reviews) == APPLICATIONS * REVIEWS_PER_APP and len(rubric.criteria) == 8
    rank(rubric, reviews[:100])  # warm up plugin loading outside the timings
    failed = False
    for aggregator in ("weighted-mean", "z-score"):
        start = time.perf_counter()
        rows = rank(rubric, reviews, aggregator=aggregator, expected_reviews=REVIEWS_PER_APP)
        elapsed = time.perf_counter() - start
        assert len(rows) == APPLICATIONS
        ratio = elapsed / TARGET_SECONDS
        failed |= ratio > 1
        print(
            f"{aggregator:14s} {elapsed:.3f} s  target < {TARGET_SECONDS:.1f} s  "
            f"ratio {ratio:.2f}  {'OK' if ratio <= 1 else 'TOO SLOW'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
