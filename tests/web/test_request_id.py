"""Every request gets an id (grants/web/request_id.py): in the response's X-Request-ID header,
on the access line and on every record logged while it is served."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from test_logs import capturing

from grants import logs
from grants.web.request_id import RequestId


@pytest.fixture
def log_lines():
    """The process's log as JSON lines (grants.logs.configure into a stream)."""
    with capturing("json") as stream:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == logs.ACCESS_LOGGER]


async def test_a_request_gets_a_new_id_in_its_header_and_on_its_access_line(browser, log_lines):
    first = await browser.get("/calls/epp-2027")
    second = await browser.get("/no-such-page")

    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert len(set(ids)) == 2 and all(len(rid) == 32 for rid in ids)
    lines = access_lines(log_lines())
    seen = [(line["request_id"], line["method"], line["path"], line["status"]) for line in lines]
    assert seen == [
        (ids[0], "GET", "/calls/epp-2027", first.status_code),
        (ids[1], "GET", "/no-such-page", 404),
    ]
    assert all(isinstance(line["duration_ms"], float) for line in lines)


async def test_a_sane_incoming_id_is_kept_and_an_insane_one_replaced(browser, log_lines):
    kept = await browser.get("/healthz", headers={"X-Request-ID": "lb-7f3a9c2e-0001"})
    replaced = await browser.get("/healthz", headers={"X-Request-ID": 'x" forged=1 ' + "a" * 80})
    short = await browser.get("/healthz", headers={"X-Request-ID": "1"})

    assert kept.headers["x-request-id"] == "lb-7f3a9c2e-0001"
    assert (
        len(replaced.headers["x-request-id"]) == 32
        and "forged" not in replaced.headers["x-request-id"]
    )
    assert short.headers["x-request-id"] != "1"
    assert [line["request_id"] for line in access_lines(log_lines())] == [
        "lb-7f3a9c2e-0001",
        replaced.headers["x-request-id"],
        short.headers["x-request-id"],
    ]


async def test_the_access_line_hides_a_link_s_token_and_leaves_out_the_query(browser, log_lines):
    response = await browser.get("/password/reset/a-secret-reset-token-value?next=/me")

    lines = [line for line in log_lines() if line["logger"].startswith("grants")]
    assert access_lines(lines)[0]["path"] == "/password/reset/{token}"
    assert access_lines(lines)[0]["request_id"] == response.headers["x-request-id"]
    assert "a-secret-reset-token-value" not in json.dumps(lines)
    assert "next=" not in json.dumps(lines)


async def test_a_record_logged_while_serving_carries_the_request_s_id(log_lines):
    async def endpoint(request):
        logging.getLogger("grants.services.example").warning("mail to %s not sent", "a@b.org")
        return PlainTextResponse("done")

    app = Starlette(routes=[Route("/", endpoint)], middleware=[Middleware(RequestId)])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.get("/", headers={"X-Request-ID": "proxy-id-12345"})

    service, access = [line for line in log_lines() if line["logger"].startswith("grants")]
    assert response.headers["x-request-id"] == "proxy-id-12345"
    assert service["message"] == "mail to a@b.org not sent"
    assert service["request_id"] == access["request_id"] == "proxy-id-12345"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/", 200)
