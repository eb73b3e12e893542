"""The organisers' exports at scale: 10,000 applications with 5 reviews each, every table as CSV
and XLSX from a real `grants serve`, with the time of each download and the server's peak memory.

Run: `.venv/bin/python tests/bench/bench_export.py [--backend sqlite|postgres]
[--applications 10000] [--reviews 5] [--only applications|reviews|ranking] [--summary FILE]`.
`--only ranking` also asks for the organisers' ranking page (the same computation, as HTML).

The data is written straight into the tables (bulk inserts: set-up, not the test): the demo
edition plus N submitted applications, each of its own group of two, with every question
answered, one file and `--reviews` submitted reviews scored on every criterion. Then one server
process serves, the organiser logs in and downloads each export in turn. Before each download
the server's peak resident memory (VmHWM) is reset (Linux: `echo 5 > /proc/PID/clear_refs`),
so the peak printed after it is that export's own.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from common import (  # noqa: E402
    DEMO_PASSWORD,
    append_summary,
    bench_environment,
    cleanup,
    db,
    load_demo,
    load_settings,
    machine_line,
    models,
    start_servers,
)

import scoring  # noqa: E402

ORGANISER = "organiser@demo.prevention-prize.eu"
EXPORTS = [
    (what, fmt) for what in ("applications", "reviews", "ranking") for fmt in ("csv", "xlsx")
]
CHUNK = 2000  # rows per bulk insert
ANSWERS = {
    "short_text": "A short answer",
    "long_text": "Young people in our town plan, run and evaluate evening activities. " * 12,
    "number": 40,
    "date": "2026-09-01",
    "link": "https://example.org/project",
}


async def bulk(model: type, rows: list) -> None:
    for start in range(0, len(rows), CHUNK):
        await model.bulk_create(rows[start : start + CHUNK])


async def fill(environ: dict[str, str], applications: int, reviews: int) -> None:
    """The demo edition with `applications` submitted applications and their reviews."""
    settings = load_settings(environ)
    await db.migrate(settings)
    await db.open_database(settings)
    try:
        await load_demo(settings)
        await _applications(applications, reviews)
    finally:
        await db.close_database()


async def _applications(count: int, reviews: int) -> None:
    m = models
    edition = await m.Edition.get(slug="epp-2027")
    questions = await m.Question.filter(edition=edition).order_by("id")
    members = await m.PanelMember.filter(panel__edition=edition).order_by("id")
    assert len(members) >= reviews, "the demo has fewer jurors than reviews asked for"
    author = await m.User.get(email=ORGANISER)
    category = await m.Category.filter(edition=edition).first()
    criteria = scoring.get_rubric(edition.rubric_name).criteria
    submitted = datetime.now(UTC) - timedelta(days=1)
    base = {
        table: (await table.all().order_by("-id").first() or table(id=0)).id + 1
        for table in (m.Group, m.Application, m.Assignment, m.Review)
    }
    groups, people, apps, answers, files = [], [], [], [], []
    for n in range(count):
        group_id, application_id = base[m.Group] + n, base[m.Application] + n
        groups.append(m.Group(id=group_id, name=f"Group {n}", country="PT", created_by=author))
        for first in ("Lead", "Mate"):
            people.append(
                m.GroupMember(group_id=group_id, first_name=first, age_band=m.AgeBand.AGE_18_21)
            )
        apps.append(
            m.Application(
                id=application_id,
                edition=edition,
                group_id=group_id,
                category=category,
                reference=f"BENCH-{n + 1:05d}",
                title=f"Project number {n} — Проект",
                summary="A summary.",
                status=m.ApplicationStatus.ELIGIBLE,
                submitted_at=submitted,
                created_by=author,
            )
        )
        for question in questions:
            if question.kind == m.QuestionKind.FILE:
                files.append(
                    m.Attachment(
                        application_id=application_id,
                        question=question,
                        original_name=f"plan-{n}.pdf",
                        stored_name=f"bench-{n}",
                        content_type="application/pdf",
                        size=1000,
                        sha256="0" * 64,
                        uploaded_by=author,
                    )
                )
            else:
                value = (
                    question.options[0]["value"]
                    if question.options
                    else ANSWERS.get(question.kind.value, "x")
                )
                if question.kind == m.QuestionKind.MULTI_CHOICE:
                    value = [value]
                answers.append(
                    m.Answer(
                        application_id=application_id, question=question, payload={"value": value}
                    )
                )
    await bulk(m.Group, groups)
    await bulk(m.GroupMember, people)
    await bulk(m.Application, apps)
    await bulk(m.Answer, answers)
    await bulk(m.Attachment, files)
    del groups, people, apps, answers, files
    await _reviews(count, reviews, base, members, criteria, submitted)
    print(f"data: {count} applications, {count * reviews} reviews, {len(criteria)} criteria each")


async def _reviews(count, reviews, base, members, criteria, submitted) -> None:
    m = models
    assignments, written, scores = [], [], []
    number = 0
    for n in range(count):
        for k in range(reviews):
            member = members[(n + k) % len(members)]
            assignment_id, review_id = base[m.Assignment] + number, base[m.Review] + number
            assignments.append(
                m.Assignment(
                    id=assignment_id,
                    panel_id=member.panel_id,
                    juror_id=member.user_id,
                    application_id=base[m.Application] + n,
                )
            )
            written.append(
                m.Review(
                    id=review_id,
                    assignment_id=assignment_id,
                    status=m.ReviewStatus.SUBMITTED,
                    overall_comment="Solid plan; the evaluation could be sharper.",
                    submitted_at=submitted,
                )
            )
            for c, criterion in enumerate(criteria):
                scores.append(
                    m.CriterionScore(
                        review_id=review_id,
                        criterion=criterion.id,
                        score=float((n + k + c) % 6),
                        comment="Fine." if c == 0 else "",
                    )
                )
            number += 1
    await bulk(m.Assignment, assignments)
    await bulk(m.Review, written)
    await bulk(m.CriterionScore, scores)


def peak_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def log_in(client: httpx.Client) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": ORGANISER, "password": DEMO_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.text[:500]


def download(client: httpx.Client, url: str) -> tuple[int, int, float, float]:
    """(status, bytes, seconds to the first byte, seconds in all)."""
    started = time.perf_counter()
    first = None
    size = 0
    with client.stream("GET", url) as response:
        for chunk in response.iter_bytes():
            first = first or time.perf_counter()
            size += len(chunk)
    ended = time.perf_counter()
    return response.status_code, size, (first or ended) - started, ended - started


class Prober(threading.Thread):
    """Asks for the home page every 0.2 s while an export runs: the slowest answer says whether
    the server kept answering others."""

    def __init__(self, base_url: str) -> None:
        super().__init__(daemon=True)
        self.base_url, self.done, self.slowest = base_url, threading.Event(), 0.0

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=600) as client:
            while not self.done.wait(0.2):
                started = time.perf_counter()
                client.get("/")
                self.slowest = max(self.slowest, time.perf_counter() - started)

    def stop(self) -> float:
        self.done.set()
        self.join()
        return self.slowest


def targets(only: str | None) -> list[tuple[str, str]]:
    """(name, path) of each download: the exports, and the ranking page with the ranking's."""
    found = [
        (f"{what}.{fmt}", f"/manage/epp-2027/export/{what}.{fmt}")
        for what, fmt in EXPORTS
        if only in (None, what)
    ]
    if only in (None, "ranking"):
        found.append(("ranking page", "/manage/epp-2027/ranking"))
    return found


def run(
    environ: dict[str, str], backend: str, applications: int, only: str | None = None
) -> list[str]:
    servers = start_servers(environ, processes=1)
    lines = []
    try:
        pid = max(servers.pids, key=rss_kib)  # the process that serves (grants serve may fork)
        base_url = f"http://127.0.0.1:{servers.ports[0]}"
        with httpx.Client(base_url=base_url, timeout=600) as client:
            log_in(client)
            for name, url in targets(only):
                before = rss_kib(pid)
                reset_peak(pid)
                prober = Prober(base_url)
                prober.start()
                status, size, first, total = download(client, url)
                slowest = prober.stop()
                peak = peak_kib(pid)
                line = (
                    f"export {backend} {applications} applications: {name} "
                    f"HTTP {status}, {size / 1e6:.1f} MB in {total:.1f} s (first byte "
                    f"{first:.1f} s); server memory {before / 1024:.0f} MiB before, peak "
                    f"{peak / 1024:.0f} MiB (+{(peak - before) / 1024:.0f} MiB); home page "
                    f"meanwhile at worst {slowest:.2f} s"
                )
                print(line, flush=True)
                lines.append(line)
                assert status == 200, line
    finally:
        servers.stop()
    return lines


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=5)
    parser.add_argument("--only", choices=("applications", "reviews", "ranking"))
    parser.add_argument("--summary")
    args = parser.parse_args()
    print(machine_line())
    environ, schema = await bench_environment(args.backend, "export")
    try:
        started = time.perf_counter()
        await fill(environ, args.applications, args.reviews)
        print(f"set-up: {time.perf_counter() - started:.0f} s")
        lines = await asyncio.to_thread(run, environ, args.backend, args.applications, args.only)
    finally:
        await cleanup(environ, schema)
    append_summary(args.summary, lines)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
