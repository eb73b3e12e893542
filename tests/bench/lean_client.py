"""A lean HTTP/1.1 client for load generation: one keep-alive connection and a cookie jar.

Why not httpx: the load generator shares the machine's two cores with the server it measures.
httpx spends about 20 ms of CPU per applicant's flow (measured), a third of what the server
spends; this client spends a fraction of that, so the figures describe the server.
It speaks only what the benchmark needs: GET, urlencoded and multipart POST, Content-Length
and chunked responses, no redirects followed.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class LeanClient:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        # Whether the last request opened its connection (its time includes connecting).
        self.fresh = False

    async def get(self, path: str) -> Response:
        return await self.request("GET", path)

    async def post(
        self,
        path: str,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Response:
        if files:
            boundary = secrets.token_hex(16)
            # The body as pieces, written one after another: a file is never copied into a
            # joined body.
            pieces = [
                f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="{name}"\r\n\r\n{value}\r\n'.encode()
                for name, value in (data or {}).items()
            ]
            for name, (filename, content, content_type) in files.items():
                pieces += [
                    f"--{boundary}\r\nContent-Disposition: form-data; "
                    f'name="{name}"; filename="{filename}"\r\n'
                    f"Content-Type: {content_type}\r\n\r\n".encode(),
                    content,
                    b"\r\n",
                ]
            pieces.append(f"--{boundary}--\r\n".encode())
            return await self.request(
                "POST", path, pieces, f"multipart/form-data; boundary={boundary}"
            )
        return await self.request(
            "POST", path, [urlencode(data or {}).encode()], "application/x-www-form-urlencoded"
        )

    async def request(
        self, method: str, path: str, body: list[bytes] | None = None, content_type: str = ""
    ) -> Response:
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Accept-Language: en",
        ]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if method == "POST":
            head += [
                f"Content-Type: {content_type}",
                f"Content-Length: {sum(len(piece) for piece in body or ())}",
            ]
        self.fresh = self._writer is None
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        for piece in body or ():
            self._writer.write(piece)
        await self._writer.drain()
        response = await self._read_response(self._reader)
        if response.headers.get("connection", "").lower() == "close":
            await self.aclose()
        return response

    async def _read_response(self, reader: asyncio.StreamReader) -> Response:
        status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                self._remember(value)
            headers[name] = value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readuntil(b"\r\n")
            content = b"".join(chunks)
        else:
            content = await reader.readexactly(int(headers.get("content-length", "0")))
        return Response(int(status_line.split(" ")[1]), headers, content)

    def _remember(self, set_cookie: str) -> None:
        pair, *attributes = set_cookie.split(";")
        name, _, value = pair.strip().partition("=")
        expired = any(
            a.strip().lower() in ("max-age=0", "expires=thu, 01 jan 1970 00:00:00 gmt")
            for a in attributes
        )
        if expired or value in ("", "null"):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except ConnectionError:
                pass
        self._reader = self._writer = None
