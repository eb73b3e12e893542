"""Admission: a line of requests per process, bodies read before joining it."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from grants.web import admission
from grants.web.admission import Admission


def app_with_line(limit: int, log: list[str], release: asyncio.Event | None = None) -> Admission:
    async def work(request: Request) -> PlainTextResponse:
        log.append(f"start {request.url.path}")
        if release is not None and request.url.path == "/slow":
            await release.wait()
        body = await request.body()
        log.append(f"end {request.url.path}")
        return PlainTextResponse(f"{len(body)} {body[:5].decode()}")

    return Admission(
        Starlette(routes=[Route("/{name}", work, methods=["GET", "POST"])]), limit=limit
    )


async def call(
    app: Admission,
    path: str,
    body_chunks: list[bytes] | None = None,
    gate: asyncio.Event | None = None,
) -> tuple[int, bytes]:
    """Drive the ASGI app like a server would; `gate` holds back the last body chunk (a slow
    phone)."""
    chunks = list(body_chunks or [])
    headers = [(b"content-length", str(sum(map(len, chunks))).encode())] if chunks else []
    scope = {
        "type": "http",
        "method": "POST" if chunks else "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "scheme": "http",
        "server": ("test", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }
    chunks = chunks or [b""]
    sent: list[dict] = []

    async def receive() -> dict:
        if not chunks:
            await asyncio.Event().wait()  # all sent: the client keeps the connection open
        if len(chunks) == 1 and gate is not None:
            await gate.wait()
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_requests_beyond_the_limit_wait_their_turn_in_arrival_order():
    log: list[str] = []
    release = asyncio.Event()
    app = app_with_line(1, log, release)
    slow = asyncio.create_task(call(app, "/slow"))
    await asyncio.sleep(0.01)
    queued = [asyncio.create_task(call(app, f"/q{n}")) for n in range(3)]
    await asyncio.sleep(0.01)
    assert log == ["start /slow"]  # the others are in line, not started
    release.set()
    await asyncio.gather(slow, *queued)
    assert log == [
        "start /slow",
        "end /slow",
        "start /q0",
        "end /q0",
        "start /q1",
        "end /q1",
        "start /q2",
        "end /q2",
    ]


async def test_a_slow_upload_holds_no_place_in_line():
    log: list[str] = []
    app = app_with_line(1, log)
    still_sending = asyncio.Event()
    upload = asyncio.create_task(call(app, "/upload", [b"%PDF-", b"x" * 1000], gate=still_sending))
    await asyncio.sleep(0.01)
    # While the phone is still sending, a page view is served at once.
    status, body = await asyncio.wait_for(call(app, "/page"), timeout=2)
    assert status == 200 and log == ["start /page", "end /page"]
    still_sending.set()
    status, body = await upload
    assert (status, body) == (200, b"1005 %PDF-")


async def test_a_large_body_is_spooled_to_a_file_and_handed_on_whole(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(admission, "SPOOL_BYTES", 1000)
    monkeypatch.setattr(admission, "REPLAY_CHUNK", 300)
    app = app_with_line(2, [])
    chunks = [b"%PDF-" + b"a" * 495, b"b" * 500, b"c" * 700]
    status, body = await call(app, "/big", chunks)
    assert (status, body) == (200, b"1700 %PDF-")


async def test_limit_zero_means_no_line():
    log: list[str] = []
    release = asyncio.Event()
    app = app_with_line(0, log, release)
    slow = asyncio.create_task(call(app, "/slow"))
    await asyncio.sleep(0.01)
    status, _body = await asyncio.wait_for(call(app, "/other"), timeout=2)
    assert status == 200
    release.set()
    await slow
