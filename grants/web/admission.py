"""Admission: at most `limit` requests are worked on at once per process; the rest wait in line.

Why: an event loop left alone shares itself among every open request. In a deadline rush with
hundreds of requests open, each one's time grows with the number open *and* with its own number
of awaits, so an upload (dozens of body chunks, each a turn of the loop) took three times as long
as a page view, and everyone was slow together. Waiting in a first-come line instead, a request
runs at nearly its own speed once admitted, and the wait is about the same for every kind of
request: the slowest requests get much faster, the average does not change.

A request body is read before the request joins the line, so a phone uploading slowly holds no
place in it; bodies over `SPOOL_BYTES` are kept in a temporary file rather than in memory. The
place is given up when the response starts: what is left is sending, which costs the server
nothing but waiting. Static files skip the line.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from typing import IO

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SPOOL_BYTES = 2 * 1024 * 1024
REPLAY_CHUNK = 1024 * 1024


class Admission:
    def __init__(self, app: ASGIApp, *, limit: int, exempt_prefix: str = "/static/") -> None:
        self.app = app
        self.limit = limit
        self.exempt_prefix = exempt_prefix
        self._line: asyncio.Semaphore | None = None  # made on first use, inside the server's loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.limit <= 0
            or scope["path"].startswith(self.exempt_prefix)
        ):
            await self.app(scope, receive, send)
            return
        if self._line is None:
            self._line = asyncio.Semaphore(self.limit)
        body = await ReadBody.of(scope, receive)
        line = self._line
        await line.acquire()
        admitted = True

        def leave() -> None:
            nonlocal admitted
            if admitted:
                admitted = False
                line.release()

        async def send_and_leave(message: Message) -> None:
            if message["type"] == "http.response.start":
                leave()
            await send(message)

        try:
            await self.app(scope, body.receive if body else receive, send_and_leave)
        finally:
            leave()
            if body:
                body.close()


class ReadBody:
    """A request body read to its end (or to the client leaving), handed to the app again."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._memory: list[bytes] = []
        self._size = 0
        self._file: IO[bytes] | None = None
        self._ending: Message | None = None  # a disconnect, replayed after the body
        self._error: HTTPException | None = None  # e.g. 413 from the size limit, raised in the app
        self._replay: Iterator[Message] | None = None

    @classmethod
    async def of(cls, scope: Scope, receive: Receive) -> ReadBody | None:
        headers = dict(scope["headers"])
        if b"transfer-encoding" not in headers and headers.get(b"content-length", b"0") in (
            b"",
            b"0",
        ):
            return None
        body = cls(receive)
        try:
            await body._read_all()
        except HTTPException as exc:
            body._error = exc
        return body

    async def _read_all(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] != "http.request":
                self._ending = message
                return
            self._keep(message.get("body", b""))
            if not message.get("more_body", False):
                return

    def _keep(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._file is None and self._size > SPOOL_BYTES:
            self._file = tempfile.TemporaryFile()
            self._file.writelines(self._memory)
            self._memory = []
        if self._file is not None:
            self._file.write(chunk)
        else:
            self._memory.append(chunk)

    async def receive(self) -> Message:
        if self._error is not None:
            raise self._error
        if self._replay is None:
            self._replay = self._messages()
        message = next(self._replay, None)
        if message is not None:
            return message
        return await self._receive()  # after the body: wait for a disconnect, as the server would

    def _messages(self) -> Iterator[Message]:
        if self._file is None:
            yield {
                "type": "http.request",
                "body": b"".join(self._memory),
                "more_body": self._ending is not None,
            }
        else:
            self._file.seek(0)
            while piece := self._file.read(REPLAY_CHUNK):
                yield {"type": "http.request", "body": piece, "more_body": True}
            yield {"type": "http.request", "body": b"", "more_body": self._ending is not None}
        if self._ending is not None:
            yield self._ending

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
