"""`<time datetime>` values are valid HTML: the Nu HTML checker refuses more than three digits of
a second, which Python's isoformat() gives by default."""

from __future__ import annotations

import re

from grants.demo import DEMO_PASSWORD

VALID = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


async def test_every_time_element_carries_a_valid_machine_time(demo, browser):
    await browser.log_in("applicant1@demo.prevention-prize.eu", DEMO_PASSWORD)
    seen = []
    for url in ("/", f"/calls/{demo.edition_slug}", "/me", "/me/security"):
        seen += re.findall(r'<time datetime="([^"]*)"', (await browser.get(url)).text)
    assert len(seen) >= 4
    assert [value for value in seen if not VALID.fullmatch(value)] == []
