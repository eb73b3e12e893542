"""Exports for the jury's meeting: the applications with their answers, the reviews (one row per
juror × criterion) and the ranking with its breakdown, as CSV or XLSX.

A table is a header and an async stream of rows (lists of cells). Rows are read from the
database BATCH applications at a time, with what each batch needs fetched in a few queries, so
an export of 10,000 applications never holds them all; the CSV is written chunk by chunk, the
XLSX by XlsxWriter in constant-memory mode into a temporary file (deleted when closed). Every
text cell passes through `neutralise` (OWASP's advice against formula injection) in both.
Only the edition's organisers (and site administrators) export, and each export is audited.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import re
import tempfile
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import xlsxwriter
from tortoise.functions import Count

from grants.i18n import dates, translated
from grants.i18n import gettext as _
from grants.i18n.labels import label
from grants.models import (
    Answer,
    Application,
    ApplicationStatus,
    Assignment,
    Attachment,
    Category,
    CriterionScore,
    Edition,
    GroupMember,
    Panel,
    Question,
    QuestionKind,
    Review,
    User,
)
from grants.services import audit, ranking
from grants.services.editions import panels_of
from grants.services.errors import NotFound
from grants.services.forms import form_of
from grants.services.permissions import require_organiser
from grants.services.review import edition_rubric

Cell = str | int | float | None
Row = list[Cell]

BATCH = 500  # applications per round of queries
WHATS = ("applications", "reviews", "ranking")
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 64 * 1024  # bytes of a file sent at a time
XLSX_ROWS = 2000  # rows handed to XlsxWriter's thread at a time


def neutralise(value: Cell) -> Cell:
    """A text that a spreadsheet would read as a formula, with an apostrophe before it; any
    other value as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass
class Table:
    """What one export holds: its sheet's name, the column names and the rows, streamed."""

    sheet: str
    header: list[str]
    rows: AsyncIterator[Row]


@dataclass
class Export:
    """An export ready to write: the table, its format, the file's name and content type."""

    table: Table
    fmt: str
    filename: str
    content_type: str


async def open_export(user: User, edition: Edition, *, what: str, fmt: str, ip: str = "") -> Export:
    """The table `what` of the edition in format `fmt` (404 for any other), for an organiser
    (403 otherwise); the export is written to the audit trail."""
    await require_organiser(user, edition)
    if what not in WHATS or fmt not in FORMATS:
        raise NotFound(_("There is no such export."))
    if what == "applications":
        table = await applications_table(edition)
    elif what == "reviews":
        table = await reviews_table(edition)
    else:
        table = await ranking_table(user, edition)
    await audit.record(
        "edition.export",
        actor=user,
        object_type="edition",
        object_id=edition.id,
        after={"what": what, "format": fmt},
        ip=ip,
    )
    return Export(
        table=table,
        fmt=fmt,
        filename=export_filename(edition, what, fmt),
        content_type=FORMATS[fmt],
    )


def export_filename(edition: Edition, what: str, fmt: str, *, now: datetime | None = None) -> str:
    """epp-2027-applications-2027-01-29.csv: the call, the table and today in the call's zone."""
    day = (now or datetime.now(UTC)).astimezone(dates.zone(edition.timezone)).date().isoformat()
    slug = re.sub(r"[^a-z0-9-]+", "-", edition.slug.lower()).strip("-") or "call"
    return f"{slug}-{what}-{day}.{fmt}"


# --- the applications --------------------------------------------------------------------------


async def _application_batches(edition: Edition) -> AsyncIterator[list[dict[str, Any]]]:
    """The edition's applications not in draft, BATCH at a time, in the order they were made."""
    last = 0
    while True:
        batch = (
            await Application.filter(edition_id=edition.id, id__gt=last)
            .exclude(status=ApplicationStatus.DRAFT)
            .order_by("id")
            .limit(BATCH)
            .values(
                "id",
                "reference",
                "title",
                "language",
                "status",
                "submitted_at",
                "category_id",
                "group_id",
                group_name="group__name",
                country="group__country",
            )
        )
        if not batch:
            return
        yield batch
        last = batch[-1]["id"]


def answer_in_words(question: Question, value: object) -> str:
    """An answer as people read it: a choice by its label in the reader's language."""
    if value is None or value == "" or value == []:
        return ""
    if question.kind in (QuestionKind.CHOICE, QuestionKind.MULTI_CHOICE):
        labels = {o["value"]: translated(o.get("label")) or o["value"] for o in question.options}
        chosen = value if isinstance(value, list) else [value]
        return "; ".join(labels.get(str(v), str(v)) for v in chosen)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


async def applications_table(edition: Edition) -> Table:
    """One row per application (drafts aside): who, what, where, its status and every answer."""
    form = await form_of(edition)
    categories = {c.id: translated(c.name) for c in await Category.filter(edition_id=edition.id)}
    loose_files = await Attachment.exists(application__edition_id=edition.id, question_id=None)
    header = [
        _("Reference"),
        _("Title"),
        _("Group"),
        _("Country"),
        _("Category"),
        _("Language"),
        _("Status"),
        _("Date submitted"),
        _("Team size"),
        *(translated(q.label) or q.key for q in form.questions),
    ]
    if loose_files:
        header.append(_("Other files"))

    async def rows() -> AsyncIterator[Row]:
        async for batch in _application_batches(edition):
            ids = [a["id"] for a in batch]
            answers = await _answers_of(ids)
            files = await _file_names_of(ids)
            team = await _team_sizes([a["group_id"] for a in batch])
            for a in batch:
                row: Row = [
                    a["reference"],
                    a["title"],
                    a["group_name"],
                    a["country"],
                    categories.get(a["category_id"], ""),
                    label("language", a["language"]),
                    label("status", a["status"]),
                    dates.in_zone(a["submitted_at"], edition.timezone, seconds=True),
                    team.get(a["group_id"], 0),
                ]
                for q in form.questions:
                    if q.kind == QuestionKind.FILE:
                        row.append("; ".join(files.get((a["id"], q.id), [])))
                    else:
                        row.append(answer_in_words(q, answers.get((a["id"], q.id))))
                if loose_files:
                    row.append("; ".join(files.get((a["id"], None), [])))
                yield row

    return Table(sheet=_("Applications"), header=header, rows=rows())


async def _answers_of(application_ids: list[int]) -> dict[tuple[int, int], object]:
    found = await Answer.filter(application_id__in=application_ids).values_list(
        "application_id", "question_id", "payload"
    )
    return {(a, q): (payload or {}).get("value") for a, q, payload in found}


async def _file_names_of(application_ids: list[int]) -> dict[tuple[int, int | None], list[str]]:
    found = (
        await Attachment.filter(application_id__in=application_ids)
        .order_by("id")
        .values_list("application_id", "question_id", "original_name")
    )
    names: dict[tuple[int, int | None], list[str]] = defaultdict(list)
    for application_id, question_id, name in found:
        names[(application_id, question_id)].append(name)
    return names


async def _team_sizes(group_ids: list[int]) -> dict[int, int]:
    counted = (
        await GroupMember.filter(group_id__in=set(group_ids))
        .annotate(members=Count("id"))
        .group_by("group_id")
        .values_list("group_id", "members")
    )
    return {group_id: int(members) for group_id, members in counted}


# --- the reviews -------------------------------------------------------------------------------


async def reviews_table(edition: Edition) -> Table:
    """One row per assigned juror × criterion of the rubric: the score, the comment and where
    the review stands (an assignment not yet begun shows as such, without scores)."""
    rubric = edition_rubric(edition)
    criteria = [(c.id, translated(c.label) or c.id) for c in rubric.criteria]
    header = [
        _("Reference"),
        _("Juror"),
        _("Panel"),
        _("Criterion"),
        _("Score"),
        _("Review status"),
        _("Date submitted"),
        _("Comment"),
        _("Overall comment"),
    ]

    async def rows() -> AsyncIterator[Row]:
        panels = {p.id: translated(p.name) for p in await panels_of(edition)}
        async for batch in _application_batches(edition):
            references = {a["id"]: a["reference"] for a in batch}
            for assignment in await _assignments_of(list(references)):
                review = assignment["review"]
                scores = review["scores"] if review else {}
                status = label("review", review["status"] if review else "none")
                moment = review["submitted_at"] if review else None
                submitted = dates.in_zone(moment, edition.timezone, seconds=True)
                overall = review["overall_comment"] if review else ""
                for criterion, criterion_label in [*criteria, *_unknown(scores, criteria)]:
                    score, comment = scores.get(criterion, (None, ""))
                    yield [
                        references[assignment["application_id"]],
                        assignment["juror"],
                        panels.get(assignment["panel_id"], ""),
                        criterion_label,
                        score,
                        status,
                        submitted,
                        comment,
                        overall,
                    ]

    return Table(sheet=_("Reviews"), header=header, rows=rows())


def _unknown(
    scores: dict[str, tuple[float | None, str]], criteria: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Scored criteria the rubric no longer names (kept, under their id, after the others)."""
    known = {c for c, _label in criteria}
    return [(c, c) for c in sorted(scores) if c not in known]


async def _assignments_of(application_ids: list[int]) -> list[dict[str, Any]]:
    """The batch's assignments (by application, panel, juror), each with its review and its
    scores by criterion, in three queries."""
    assignments = (
        await Assignment.filter(application_id__in=application_ids)
        .order_by("application_id", "panel_id", "juror__display_name", "id")
        .values("id", "application_id", "panel_id", juror="juror__display_name")
    )
    reviews = await Review.filter(assignment_id__in=[a["id"] for a in assignments]).values(
        "id", "assignment_id", "status", "submitted_at", "overall_comment"
    )
    scores: dict[int, dict[str, tuple[float | None, str]]] = defaultdict(dict)
    for review_id, criterion, score, comment in await CriterionScore.filter(
        review_id__in=[r["id"] for r in reviews]
    ).values_list("review_id", "criterion", "score", "comment"):
        scores[review_id][criterion] = (score, comment)
    by_assignment = {r["assignment_id"]: {**r, "scores": scores[r["id"]]} for r in reviews}
    return [{**a, "review": by_assignment.get(a["id"])} for a in assignments]


# --- the ranking -------------------------------------------------------------------------------


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


async def ranking_table(user: User, edition: Edition) -> Table:
    """The ranking as the organisers' ranking page computes it (services.ranking): position,
    combined and per-panel scores, reviews, flags, the criteria's means and any award."""
    page = await ranking.ranking_page(user, edition)
    panels: list[Panel] = await panels_of(edition)
    header = [
        _("Position"),
        _("Reference"),
        _("Title"),
        _("Combined score"),
        *(_("Score of %(panel)s", panel=translated(p.name)) for p in panels),
        _("Reviews"),
        _("Flags"),
        *(translated(c.label) or c.id for c in page.rubric.criteria),
        _("Award"),
    ]

    async def rows() -> AsyncIterator[Row]:
        for row in page.rows:
            application = page.applications.get(row.application)
            award = page.awards.get(application.id) if application else None
            yield [
                row.rank,
                row.application,
                application.title if application else "",
                _rounded(row.score),
                *(_rounded(row.panel_scores.get(p.slug)) for p in panels),
                row.reviews,
                "; ".join(label("flag", f) for f in row.flags),
                *(_rounded(row.breakdown.get(c.id)) for c in page.rubric.criteria),
                award.title if award else "",
            ]

    return Table(sheet=_("Ranking"), header=header, rows=rows())


# --- writing -----------------------------------------------------------------------------------


def csv_text(value: Cell) -> str:
    """A cell as CSV text, neutralised (a number is written as Python writes it)."""
    if value is None:
        return ""
    return str(neutralise(value if isinstance(value, str) else str(value)))


def _csv_lines(rows: Iterable[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([csv_text(cell) for cell in row] for row in rows)
    return buffer.getvalue()


async def csv_chunks(table: Table) -> AsyncIterator[bytes]:
    """The table as UTF-8 CSV with a byte-order mark (so Excel reads Cyrillic right), a few
    hundred rows per chunk."""
    yield ("\ufeff" + _csv_lines([list(table.header)])).encode()
    pending: list[Row] = []
    async for row in table.rows:
        pending.append(row)
        if len(pending) >= BATCH:
            yield _csv_lines(pending).encode()
            pending = []
            await asyncio.sleep(0)  # a batch's rows are made without a wait: let others run
    if pending:
        yield _csv_lines(pending).encode()


def _write_cell(sheet: Any, row: int, column: int, value: Cell, style: Any = None) -> None:
    """Text always as a string (never a formula, never a number or a link), neutralised."""
    if isinstance(value, bool) or value is None:
        sheet.write_blank(row, column, None, style)
    elif isinstance(value, int | float) and math.isfinite(value):
        sheet.write_number(row, column, value, style)
    else:
        sheet.write_string(row, column, str(neutralise(str(value))), style)


async def xlsx_file(table: Table) -> IO[bytes]:
    """The table as an XLSX workbook in a temporary file (deleted when closed), read from the
    start. XlsxWriter's constant-memory mode writes each row to disk as it comes."""
    output = tempfile.TemporaryFile()
    try:
        workbook = xlsxwriter.Workbook(
            output,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        sheet = workbook.add_worksheet(_sheet_name(table.sheet))
        bold = workbook.add_format({"bold": True})
        for column, name in enumerate(table.header):
            _write_cell(sheet, 0, column, name, bold)
        sheet.freeze_panes(1, 0)
        # XlsxWriter takes some microseconds a cell: rows are written in a worker thread, a few
        # thousand at a time, so the server goes on answering others meanwhile.
        written, pending = 1, []
        async for row in table.rows:
            pending.append(row)
            if len(pending) >= XLSX_ROWS:
                await asyncio.to_thread(_write_rows, sheet, written, pending)
                written, pending = written + len(pending), []
        await asyncio.to_thread(_write_rows, sheet, written, pending)
        await asyncio.to_thread(workbook.close)  # zips the sheet
        output.seek(0)
    except BaseException:
        output.close()
        raise
    return output


def _write_rows(sheet: Any, first: int, rows: list[Row]) -> None:
    for number, row in enumerate(rows, start=first):
        for column, value in enumerate(row):
            _write_cell(sheet, number, column, value)


def _sheet_name(name: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", name)[:31] or "Sheet1"


async def file_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    """A file's content in chunks; the file is closed (a temporary one deleted) at the end."""
    try:
        while chunk := file.read(CHUNK):
            yield chunk
    finally:
        file.close()
