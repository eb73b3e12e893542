"""The organisers' downloads (web/exports.py): each table as CSV and as XLSX, read back the way a
spreadsheet would; nobody else gets them.

(Named apart from tests/services/test_exports.py: two test modules may not share a name.)
"""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from scored_demo import FILE_NAME, FORMULA, REFERENCES, score_demo

from grants.demo import DEMO_PASSWORD
from grants.models import Application, ApplicationStatus, AuditEvent

ORGANISER = "organiser@demo.prevention-prize.eu"
BASE = "/manage/epp-2027/export"
TABLES = ("applications", "reviews", "ranking")


def csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "a byte-order mark, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def xlsx_rows(body: bytes) -> list[list[object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
    rows = []
    for row in sheet.iter_rows():
        assert all(cell.data_type != "f" for cell in row), "no formula in an export"
        rows.append(["" if cell.value is None else cell.value for cell in row])
    return rows


def as_text(value: object, *, like: str) -> str:
    """A sheet's cell as the CSV writes it (a number read back may have lost its ".0")."""
    if isinstance(value, int | float) and not isinstance(value, bool) and float(like) == value:
        return like
    return str(value)


@pytest.mark.parametrize("what", TABLES)
async def test_an_organiser_downloads_each_table_as_csv_and_xlsx_with_the_same_data(
    what, settings, demo, browser
):
    await score_demo()
    await browser.log_in(ORGANISER, DEMO_PASSWORD)

    as_csv = await browser.get(f"{BASE}/{what}.csv")
    assert as_csv.status_code == 200, as_csv.text[:500]
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.headers["cache-control"] == "no-store"
    disposition = as_csv.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="epp-2027-{what}-')
    assert disposition.endswith('.csv"')

    as_xlsx = await browser.get(f"{BASE}/{what}.xlsx")
    assert as_xlsx.status_code == 200
    assert as_xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert as_xlsx.headers["cache-control"] == "no-store"
    assert as_xlsx.headers["content-disposition"].endswith('.xlsx"')
    assert int(as_xlsx.headers["content-length"]) == len(as_xlsx.content)

    text_rows = csv_rows(as_csv.content)
    sheet_rows = xlsx_rows(as_xlsx.content)
    assert len(text_rows) == len(sheet_rows) > 1
    for text_row, sheet_row in zip(text_rows, sheet_rows, strict=True):
        sheet_row += [""] * (len(text_row) - len(sheet_row))  # empty cells at the end
        assert [
            as_text(value, like=text) for text, value in zip(text_row, sheet_row, strict=True)
        ] == text_row
    references = {row[text_rows[0].index("Reference")] for row in text_rows[1:]}
    assert set(REFERENCES) <= references
    assert await AuditEvent.filter(action="edition.export").count() == 2


async def test_the_applications_hold_every_submitted_one_and_formulas_stay_text(
    settings, demo, browser
):
    await score_demo()
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    rows = xlsx_rows((await browser.get(f"{BASE}/applications.xlsx")).content)
    header, body = rows[0], rows[1:]
    submitted = await Application.exclude(status=ApplicationStatus.DRAFT).values_list(
        "reference", flat=True
    )
    assert sorted(row[0] for row in body) == sorted(submitted)
    first = dict(zip(header, next(row for row in body if row[0] == REFERENCES[0]), strict=False))
    assert first["What need does your project answer, and how do you know?"] == "'" + FORMULA
    assert first["Work plan or photos (PDF, JPEG, PNG)"] == "'" + FILE_NAME
    assert first["Which approach describes your project best?"] == "Peer education"

    reviews = csv_rows((await browser.get(f"{BASE}/reviews.csv")).content)
    comments = {row[reviews[0].index("Overall comment")] for row in reviews[1:]}
    assert "'" + FORMULA in comments and FORMULA not in comments
    assert "'-2 points: no budget" in {row[reviews[0].index("Comment")] for row in reviews[1:]}


async def test_an_export_speaks_the_organisers_language_and_keeps_cyrillic(settings, demo, browser):
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    await Application.filter(reference=REFERENCES[0]).update(title="Равный — равному")
    await browser.get("/language?lang=ru")
    rows = csv_rows((await browser.get(f"{BASE}/applications.csv")).content)
    assert rows[0][:3] == ["Номер", "Название", "Группа"]
    assert [row[1] for row in rows[1:] if row[0] == REFERENCES[0]] == ["Равный — равному"]
    assert rows[1][rows[0].index("Статус")] == "Отправлена"


async def test_a_juror_is_refused_and_a_visitor_is_sent_to_log_in(settings, demo, make_browser):
    juror = await make_browser("198.51.100.30")
    await juror.log_in("juror1@demo.prevention-prize.eu", DEMO_PASSWORD)
    for what in TABLES:
        for fmt in ("csv", "xlsx"):
            refused = await juror.get(f"{BASE}/{what}.{fmt}")
            assert refused.status_code == 403
            assert REFERENCES[0] not in refused.text
    visitor = await make_browser("198.51.100.31")
    response = await visitor.get(f"{BASE}/applications.csv")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert not await AuditEvent.exists(action="edition.export")


async def test_an_unknown_table_or_format_is_not_found(settings, demo, browser):
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    assert (await browser.get(f"{BASE}/passwords.csv")).status_code == 404
    assert (await browser.get(f"{BASE}/applications.pdf")).status_code == 404
    assert (await browser.get("/manage/no-such-call/export/applications.csv")).status_code == 404


async def test_the_console_and_the_ranking_page_link_to_every_export(settings, demo, browser):
    await browser.log_in(ORGANISER, DEMO_PASSWORD)
    for page in ("/manage/epp-2027", "/manage/epp-2027/ranking"):
        html = (await browser.get(page)).text
        for what in TABLES:
            for fmt in ("csv", "xlsx"):
                assert f'href="{BASE}/{what}.{fmt}"' in html
