"""What the web tests read from pages and post in forms, in one place: an applicant's usual
answers and file, and the helpers that find a field's error or follow a form's redirect."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from grants.models import Application, ApplicationStatus, Edition, Group, User

PASSWORD = "a long enough password"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ANSWERS = {
    "needs": "A survey in our school.",
    "youth_role": "We plan and lead every talk.",
    "participants": "25",
    "approach": "peer",
    "start_date": "2026-09-01",
    "website": "",
}


def field_error(page: httpx.Response, name: str) -> str:
    """The error message shown on one field ('' when the field has none)."""
    match = re.search(
        rf'<p class="field-error" id="{re.escape(name)}-error">(.*?)</p>', page.text, re.S
    )
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip() if match else ""


def text_of(page: httpx.Response) -> str:
    return html.unescape(page.text)


def location(response: httpx.Response) -> str:
    """Where a successful form post redirects; on failure, show the page's error messages."""
    problems = re.findall(
        r'class="(?:field-error|error-summary)"[^>]*>(.*?)</(?:p|div)>', response.text, re.S
    )
    assert response.status_code == 303, (response.status_code, problems or response.text[:3000])
    return response.headers["location"]


def references(page: httpx.Response) -> list[str]:
    """The references of the console's application list, in the order shown."""
    return re.findall(r'<tr id="row-([A-Z0-9-]+)">', page.text)


async def many_applications(
    count: int, shape: Callable[[int], dict[str, Any]] = lambda i: {}
) -> list[Application]:
    """`count` submitted applications to the demo call, BULK-0000 onwards, written straight to
    the database (a list or a bulk action at scale, without submitting each one): `shape(i)`
    gives the i-th one's fields (`country` is its group's); submitted a minute apart."""
    edition = await Edition.get(slug="epp-2027")
    author = await User.get(email="applicant1@demo.prevention-prize.eu")
    groups: dict[str, Group] = {}
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    rows = []
    for i in range(count):
        fields = {"country": "FR", "language": "en", "title": f"Bulk project {i:04d}", **shape(i)}
        country = fields.pop("country")
        if country not in groups:
            groups[country] = await Group.create(
                name=f"Bulk group {country}", country=country, created_by=author
            )
        at = start + timedelta(minutes=i)
        rows.append(
            Application(
                edition=edition,
                group=groups[country],
                reference=f"BULK-{i:04d}",
                status=ApplicationStatus.SUBMITTED,
                submitted_at=at,
                created_at=at,
                updated_at=at,
                created_by=author,
                **fields,
            )
        )
    await Application.bulk_create(rows)
    return await Application.filter(reference__startswith="BULK-").order_by("reference")
