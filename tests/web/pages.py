"""What the web tests read from pages and post in forms, in one place: an applicant's usual
answers and file, and the helpers that find a field's error or follow a form's redirect."""

from __future__ import annotations

import html
import re

import httpx

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
