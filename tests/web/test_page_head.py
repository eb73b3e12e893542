"""What every page's head gives browsers and search engines: a description in the reader's
language and an icon that exists (a missing one is a console error on every page)."""

from __future__ import annotations

import re


async def test_every_page_has_a_description_in_the_readers_language_and_an_icon(browser):
    english = (await browser.get("/")).text
    assert re.search(r'<meta name="description" content="The Prevention Prize: [^"]+">', english)
    russian = (await browser.get("/login", headers={"Accept-Language": "ru"})).text
    assert re.search(r'<meta name="description" content="Премия[^"]+">', russian)
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', english).group(1)
    response = await browser.get(icon)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.startswith("<svg")
