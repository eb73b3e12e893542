"""`/healthz` (grants/web/health.py): 200 while the database answers, 503 with the reason when it
does not; never cached, no session cookie."""

from __future__ import annotations

import grants.db


async def test_healthz_answers_ok_without_a_session_cookie_and_is_never_cached(browser):
    response = await browser.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers
    assert not browser.cookies


async def test_healthz_answers_503_with_the_reason_when_the_database_cannot_answer(
    settings, browser, tmp_path
):
    if settings.database_url:  # PostgreSQL: a port where no server listens
        broken = settings.with_(database_url="postgres://postgres@127.0.0.1:1/gone")
    else:  # SQLite: a file in a folder that does not exist
        broken = settings.with_(database_url=f"sqlite://{tmp_path}/no-such-folder/x.sqlite3")
    await grants.db.close_database()
    await grants.db.open_database(broken)
    try:
        response = await browser.get("/healthz")
    finally:
        await grants.db.close_database()
        await grants.db.open_database(settings)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    expected = "ConnectionRefusedError" if settings.database_url else "OperationalError"
    assert body["reason"] == f"database: {expected}"
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers

    assert (await browser.get("/healthz")).status_code == 200  # the database is back
