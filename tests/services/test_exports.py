"""Exports: formulas neutralised in every cell of CSV and XLSX, the columns of each table, answers
as words, the ranking as services.ranking computes it, organisers only, each export audited."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from collections.abc import AsyncIterator
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scored_demo import FILE_NAME, FORMULA, REFERENCES, score_demo

from grants.models import (
    ApplicationStatus,
    AuditEvent,
    Edition,
    Question,
    QuestionKind,
    User,
)
from grants.services import exports, ranking
from grants.services.errors import NotFound, PermissionDenied

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
ORGANISER = "organiser@demo.prevention-prize.eu"
SHEET = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
dangerous_texts = st.tuples(st.sampled_from(DANGEROUS), texts).map("".join)
cells = st.one_of(
    st.none(),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    texts,
    dangerous_texts,
)


@given(st.one_of(texts, dangerous_texts))
def test_neutralise_puts_an_apostrophe_before_a_formula_and_only_then(text):
    result = exports.neutralise(text)
    assert isinstance(result, str)
    assert not result.startswith(DANGEROUS)
    if text.startswith(DANGEROUS):
        assert result == "'" + text
    else:
        assert result == text


@given(st.one_of(st.none(), st.integers(), st.floats(allow_nan=False)))
def test_neutralise_leaves_numbers_and_empty_cells_alone(value):
    assert exports.neutralise(value) == value


def table_of(rows: list[list]) -> exports.Table:
    async def stream() -> AsyncIterator[list]:
        for row in rows:
            yield row

    return exports.Table(sheet="Sheet", header=["=A", "b"], rows=stream())


def csv_cells(rows: list[list]) -> list[list[str]]:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in exports.csv_chunks(table_of(rows))])

    data = asyncio.run(collect())
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@given(st.lists(st.lists(cells, min_size=1, max_size=4), max_size=5))
def test_no_csv_cell_begins_with_a_formula(rows):
    read = csv_cells(rows)
    assert read[0] == ["'=A", "b"]
    assert len(read) == len(rows) + 1
    for written, back in zip(rows, read[1:], strict=True):
        for value, text in zip(written, back, strict=True):
            assert not text.startswith(DANGEROUS), text
            shown = "" if value is None else str(value)
            assert text in (shown, "'" + shown)


def sheet_cells(data: bytes) -> list[list[tuple[str, str]]]:
    """(type, text) of every cell of the first sheet, read from its XML with the standard
    library: "s" a string, "n" a number, "f" a formula, "" an empty cell."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
        names = archive.namelist()
        shared = []
        if "xl/sharedStrings.xml" in names:
            strings = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
            shared = ["".join(si.itertext()) for si in strings.findall(f"{{{SHEET}}}si")]
    rows = []
    for row in root.iter(f"{{{SHEET}}}row"):
        cells_of_row: list[tuple[str, str]] = []
        for cell in row.findall(f"{{{SHEET}}}c"):
            column = column_index(cell.get("r", ""))
            cells_of_row += [("", "")] * (column - len(cells_of_row))
            value = cell.find(f"{{{SHEET}}}v")
            if cell.find(f"{{{SHEET}}}f") is not None:
                cells_of_row.append(("f", ""))
            elif cell.get("t") == "inlineStr":
                cells_of_row.append(("s", "".join(cell.find(f"{{{SHEET}}}is").itertext())))
            elif cell.get("t") == "s":
                cells_of_row.append(("s", shared[int(value.text)]))
            else:
                cells_of_row.append(("n", value.text if value is not None else ""))
        rows.append(cells_of_row)
    return rows


def column_index(reference: str) -> int:
    """0 for A1, 1 for B7, 26 for AA3."""
    number = 0
    for letter in re.match(r"[A-Z]+", reference).group(0):
        number = number * 26 + ord(letter) - ord("A") + 1
    return number - 1


def xlsx_bytes(rows: list[list]) -> bytes:
    async def write() -> bytes:
        file = await exports.xlsx_file(table_of(rows))
        data = file.read()
        file.close()
        return data

    return asyncio.run(write())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.one_of(texts, dangerous_texts), min_size=1, max_size=3), max_size=4))
def test_no_xlsx_cell_is_a_formula_and_text_is_neutralised(rows):
    read = sheet_cells(xlsx_bytes(rows))
    assert read[0] == [("s", "'=A"), ("s", "b")]
    for written, back in zip(rows, read[1:], strict=True):
        for value, (kind, text) in zip(written, back, strict=True):
            assert kind == "s", (value, kind, text)
    texts_back = [t for row in read for kind, t in row]
    assert not any(t.startswith(DANGEROUS) for t in texts_back)


def test_xlsx_writes_numbers_as_numbers_and_nothing_as_empty():
    read = sheet_cells(xlsx_bytes([[3, 2.5, None, "x", "-1"]]))
    assert read[1] == [("n", "3"), ("n", "2.5"), ("", ""), ("s", "x"), ("s", "'-1")]


def test_answers_read_as_words():
    question = Question(
        key="approach",
        kind=QuestionKind.MULTI_CHOICE,
        options=[
            {"value": "peer", "label": {"en": "Peer education", "fr": "Éducation par les pairs"}},
            {"value": "sport", "label": {"en": "Sport"}},
        ],
    )
    assert exports.answer_in_words(question, ["peer", "sport"]) == "Peer education; Sport"
    assert exports.answer_in_words(question, ["gone"]) == "gone"
    assert exports.answer_in_words(question, []) == ""
    number = Question(key="n", kind=QuestionKind.NUMBER, options=[])
    assert exports.answer_in_words(number, 12) == "12"
    assert exports.answer_in_words(number, None) == ""


def test_file_names_say_the_call_the_table_and_the_day_in_the_calls_zone():
    from datetime import UTC, datetime

    edition = Edition(slug="epp-2027", timezone="Europe/Paris")
    late = datetime(2027, 1, 28, 23, 30, tzinfo=UTC)  # already the 29th in Paris
    assert (
        exports.export_filename(edition, "applications", "csv", now=late)
        == "epp-2027-applications-2027-01-29.csv"
    )


async def rows_of(table: exports.Table) -> list[list]:
    return [row async for row in table.rows]


async def test_applications_one_row_each_with_answers_as_words(settings, demo):
    scored = await score_demo()
    edition = scored.edition
    table = await exports.applications_table(edition)
    questions = await Question.filter(edition=edition).order_by("step", "position", "id")
    assert table.header[:9] == [
        "Reference",
        "Title",
        "Group",
        "Country",
        "Category",
        "Language",
        "Status",
        "Date submitted",
        "Team size",
    ]
    assert table.header[9:] == [q.label["en"] for q in questions]
    rows = await rows_of(table)
    assert len(rows) == demo.applications  # drafts are not exported
    by_reference = {row[0]: dict(zip(table.header, row, strict=True)) for row in rows}
    first = by_reference[REFERENCES[0]]
    assert first["Status"] == "Submitted"
    assert first["Language"] == "English"
    assert first["Which approach describes your project best?"] == "Peer education"
    assert first["What need does your project answer, and how do you know?"] == FORMULA
    assert first["Work plan or photos (PDF, JPEG, PNG)"] == FILE_NAME
    assert first["Date submitted"].endswith(" Europe/Paris")
    assert first["Team size"] >= 2
    assert first["Category"] == "School and peer education"


async def test_reviews_one_row_per_juror_and_criterion(settings, demo):
    scored = await score_demo()
    table = await exports.reviews_table(scored.edition)
    assert table.header == [
        "Reference",
        "Juror",
        "Panel",
        "Criterion",
        "Score",
        "Review status",
        "Date submitted",
        "Comment",
        "Overall comment",
    ]
    rows = [dict(zip(table.header, row, strict=True)) for row in await rows_of(table)]
    assert len(rows) == scored.assignments * scored.criteria
    statuses = {row["Review status"] for row in rows}
    assert statuses == {"Submitted", "Draft saved", "Not started"}
    first = [row for row in rows if row["Reference"] == REFERENCES[0]]
    assert {row["Panel"] for row in first} == {"Expert jury", "Youth jury"}
    assert FORMULA in {row["Overall comment"] for row in first}
    assert all(isinstance(row["Score"], float) for row in first)
    not_begun = [row for row in rows if row["Review status"] == "Not started"]
    assert len(not_begun) == scored.criteria
    assert all(row["Score"] is None and row["Juror"] for row in not_begun)


async def test_ranking_is_the_ranking_services_with_its_breakdown(settings, demo):
    scored = await score_demo()
    organiser = await User.get(email=ORGANISER)
    table = await exports.ranking_table(organiser, scored.edition)
    assert table.header[:6] == [
        "Position",
        "Reference",
        "Title",
        "Combined score",
        "Score of Expert jury",
        "Score of Youth jury",
    ]
    rows = await rows_of(table)
    expected = await ranking.ranking(organiser, scored.edition)
    assert [row[1] for row in rows] == [r.application for r in expected]
    assert [row[0] for row in rows] == [r.rank for r in expected]
    for row, ranked in zip(rows, expected, strict=True):
        assert row[3] == (None if ranked.score is None else round(ranked.score, 2))
        assert row[6] == ranked.reviews
        for column, panel in ((4, "expert-jury"), (5, "youth-jury")):
            value = ranked.panel_scores.get(panel)
            assert row[column] == (None if value is None else round(value, 2))
    assert all(row[3] is not None and row[4] is not None for row in rows[:2])
    assert set(REFERENCES) <= {row[1] for row in rows}


async def test_only_organisers_export_and_each_export_is_audited(settings, demo):
    edition = await Edition.get(slug="epp-2027")
    juror = await User.get(email="juror1@demo.prevention-prize.eu")
    with pytest.raises(PermissionDenied):
        await exports.open_export(juror, edition, what="applications", fmt="csv")
    organiser = await User.get(email=ORGANISER)
    with pytest.raises(NotFound):
        await exports.open_export(organiser, edition, what="passwords", fmt="csv")
    with pytest.raises(NotFound):
        await exports.open_export(organiser, edition, what="reviews", fmt="pdf")
    assert not await AuditEvent.exists(action="edition.export")
    export = await exports.open_export(
        organiser, edition, what="reviews", fmt="xlsx", ip="192.0.2.1"
    )
    assert export.filename.startswith("epp-2027-reviews-") and export.filename.endswith(".xlsx")
    event = await AuditEvent.get(action="edition.export")
    assert event.actor_id == organiser.id
    assert event.after == {"what": "reviews", "format": "xlsx"}
    assert event.ip == "192.0.2.1"


async def test_a_withdrawn_application_is_exported_with_its_status(settings, demo):
    from grants.models import Application

    await Application.filter(reference=REFERENCES[1]).update(status=ApplicationStatus.WITHDRAWN)
    table = await exports.applications_table(await Edition.get(slug="epp-2027"))
    statuses = {row[0]: row[6] for row in await rows_of(table)}
    assert statuses[REFERENCES[1]] == "Withdrawn"
