"""Bad input gets a clear, translated error and never a 500 or a traceback."""

from __future__ import annotations

import pytest
from starlette.routing import Route

from grants.demo import DEMO_PASSWORD


async def test_unknown_url_gives_a_translated_404_page(demo, browser):
    response = await browser.get("/no/such/page", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert response.status_code == 404
    assert '<html lang="fr">' in response.text
    assert "Cette page n" in response.text  # "Cette page n'existe pas."
    russian = await browser.get("/no/such/page", headers={"Accept-Language": "ru"})
    assert "Такой страницы нет" in russian.text or "не существует" in russian.text


async def test_language_switch_is_kept_in_the_session(demo, browser):
    response = await browser.get("/language", params={"lang": "ru", "next": "/calls/epp-2027"})
    assert response.status_code == 303 and response.headers["location"] == "/calls/epp-2027"
    page = await browser.get("/calls/epp-2027")
    assert '<html lang="ru">' in page.text
    assert "Европейская премия" in page.text  # the edition's own Russian title


@pytest.mark.parametrize(
    "target", ["//evil.example/", "/\\evil.example/", "https://evil.example/", "evil"]
)
async def test_no_next_parameter_leads_off_site(demo, browser, target):
    response = await browser.get("/language", params={"lang": "fr", "next": target})
    assert response.headers["location"] == "/"
    await browser.page("/login")
    response = await browser.submit(
        "/login?next=" + target,
        {"email": "organiser@demo.prevention-prize.eu", "password": DEMO_PASSWORD, "next": target},
    )
    assert response.headers["location"] == "/me"


async def test_post_without_csrf_token_is_refused(demo, browser):
    await browser.page("/login")
    response = await browser.submit(
        "/login",
        {"email": "organiser@demo.prevention-prize.eu", "password": DEMO_PASSWORD},
        token=False,
    )
    assert response.status_code == 403
    assert "expired" in response.text
    assert (
        "grants_session" not in response.headers.get("set-cookie", "") or "uid" not in response.text
    )


def all_post_routes(app) -> list[str]:
    paths = []
    for route in app.routes:
        if isinstance(route, Route) and "POST" in (route.methods or set()):
            path = route.path
            for name in route.param_convertors:
                path = path.replace(
                    "{" + name + "}", "1" if name.endswith("id") or name == "step" else "epp-2027"
                )
            paths.append(path)
    return paths


async def test_every_state_changing_route_checks_csrf(demo, app, browser):
    """Logged in as the organiser (who may do the most), no POST succeeds without a token."""
    await browser.log_in("organiser@demo.prevention-prize.eu", DEMO_PASSWORD)
    paths = all_post_routes(app)
    assert len(paths) >= 12
    for path in paths:
        response = await browser.post(path, data={"anything": "x"})
        assert response.status_code in (403, 404), (path, response.status_code)
        if response.status_code == 403:
            assert "expired" in response.text, path


@pytest.mark.parametrize(
    "path",
    [
        "/applications/abc/step/1",
        "/applications/999999/step/1",
        "/applications/1/step/9",
        "/groups/%00",
        "/calls/%2e%2e%2f",
        "/jury/reviews/-1",
        "/manage/nope",
        "/verify/garbage",
        "/password/reset/x",
        "/applications/1/files/1",
        "/static/../grants/settings.py",
    ],
)
async def test_odd_urls_never_give_a_500(demo, browser, path):
    await browser.log_in("applicant1@demo.prevention-prize.eu", DEMO_PASSWORD)
    response = await browser.get(path)
    assert response.status_code < 500, (path, response.status_code)
    assert "Traceback" not in response.text


async def test_garbage_form_input_never_gives_a_500(demo, browser):
    await browser.log_in("applicant1@demo.prevention-prize.eu", DEMO_PASSWORD)
    odd_values = [
        "",
        " ",
        "x" * 100_000,
        "\x00",
        "<script>alert(1)</script>",
        "-1",
        "1e309",
        "😀",
        "' OR 1=1 --",
    ]
    targets = ["/groups/new", "/calls/epp-2027/apply", "/signup", "/password/forgot"]
    for target in targets:
        for value in odd_values:
            fields = {
                name: value
                for name in (
                    "name",
                    "kind",
                    "country",
                    "lead_first_name",
                    "lead_age_band",
                    "group_id",
                    "title",
                    "language",
                    "email",
                    "password",
                    "display_name",
                )
            }
            response = await browser.submit(target, fields)
            assert response.status_code < 500, (target, value[:20], response.status_code)
            assert "<script>alert(1)</script>" not in response.text  # escaped, never echoed raw


async def test_an_upload_over_the_request_limit_is_refused_with_413(demo, app, browser):
    await browser.log_in("applicant1@demo.prevention-prize.eu", DEMO_PASSWORD)
    limit = app.state.settings.max_request_mb * 1024 * 1024
    response = await browser.post(
        "/groups/new",
        content=b"x" * 10,
        headers={
            "content-length": str(limit + 1),
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 413
    assert "too large" in response.text


async def test_security_headers_are_set(browser):
    response = await browser.get("/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
