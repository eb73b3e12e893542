"""What every response says to browsers and caches: the security headers on every page, error
pages and 500s included, and `Cache-Control: no-store` on everything but the static files, so
no shared computer or proxy keeps a receipt, a minor's details or a file."""

from __future__ import annotations

import io

import httpx
import pytest
from starlette.routing import Route

from grants.app import create_app
from grants.demo import DEMO_PASSWORD
from grants.models import Application, Attachment, User
from grants.storage import LocalStorage

APPLICANT = "applicant1@demo.prevention-prize.eu"
SECURITY = [
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
]


def assert_secured(response, *, stored: bool = False) -> None:
    for name in SECURITY:
        assert name in response.headers, (response.url, name)
    if not stored:
        assert response.headers.get("cache-control") == "no-store", response.url


async def test_private_pages_and_files_are_never_kept_by_a_cache(demo, browser, settings):
    await browser.log_in(APPLICANT, DEMO_PASSWORD)
    applicant = await User.get(email=APPLICANT)
    mine = Application.filter(group__members__user=applicant)
    draft = await mine.filter(status="draft").order_by("id").first()
    submitted = await mine.filter(status="submitted").order_by("id").first()
    stored = await LocalStorage(settings.upload_dir).save(
        io.BytesIO(b"%PDF-1.4\n% a plan\n"), max_bytes=1 << 20
    )
    attachment = await Attachment.create(
        application=draft,
        original_name="plan.pdf",
        stored_name=stored.stored_name,
        content_type="application/pdf",
        size=stored.size,
        sha256=stored.sha256,
        uploaded_by=applicant,
    )
    for path in [
        "/me",
        f"/groups/{draft.group_id}",
        f"/applications/{draft.id}/step/1",
        f"/applications/{submitted.id}/receipt",
        f"/applications/{draft.id}/files/{attachment.id}",
        "/jury",
        "/",  # a public page, seen by someone signed in
    ]:
        response = await browser.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_secured(response)

    await browser.log_in("organiser@demo.prevention-prize.eu", DEMO_PASSWORD)
    for path in ["/manage/epp-2027", "/manage/epp-2027/jury", f"/manage/applications/{draft.id}"]:
        response = await browser.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_secured(response)


async def test_a_visitors_pages_are_not_stored_but_static_files_may_be(demo, browser):
    for path in ["/login", "/signup", "/calls/epp-2027"]:
        assert_secured(await browser.get(path))
    response = await browser.get("/static/site.css")
    assert response.status_code == 200
    assert_secured(response, stored=True)
    assert "no-store" not in response.headers.get("cache-control", "")


async def test_error_pages_carry_the_security_headers(demo, browser):
    assert_secured(await browser.get("/no/such/page"))  # 404
    response = await browser.post("/login", data={"email": "x"})  # no CSRF token: 403
    assert response.status_code == 403
    assert_secured(response)


async def test_a_server_error_is_a_page_in_the_users_language_with_the_security_headers(
    settings, make_browser
):
    app = create_app(settings, manage_database=False)

    async def broken(request):
        raise RuntimeError("a bug")

    app.router.routes.append(Route("/broken", broken))
    browser = await make_browser(on=app)
    response = await browser.get("/broken", headers={"Accept-Language": "fr"})
    assert response.status_code == 500
    assert '<html lang="fr">' in response.text
    assert "Un problème est survenu de notre côté" in response.text
    assert "Traceback" not in response.text and "a bug" not in response.text
    assert_secured(response)


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
async def test_an_error_outside_the_app_middleware_still_gets_the_headers(settings):
    """Starlette's last resort (an error in a middleware itself) renders the same page."""
    app = create_app(settings, manage_database=False)

    class Exploding:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http" and scope["path"] == "/explode":
                raise RuntimeError("a middleware bug")
            await self.app(scope, receive, send)

    app.add_middleware(Exploding)  # outermost of the app's own middleware, inside Starlette's
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/explode")
    assert response.status_code == 500
    assert "a middleware bug" not in response.text
    assert_secured(response)
