"""Attachment storage: outside the web root, random names, written atomically.

One interface (`save`, `open_path`, `delete`) so an S3-compatible store can replace it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import filetype

CHUNK = 256 * 1024


class Readable(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    size: int
    sha256: str
    content_type: str | None  # sniffed from the bytes, never the client's claim


class TooLarge(Exception):
    pass


def _flush_and_sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    async def save(self, source: Readable, *, max_bytes: int) -> StoredFile:
        """Stream to a temporary file, fsync, then rename into place (never half-written)."""
        name = secrets.token_hex(16)
        final = self.root / name
        temporary = self.root / f".{name}.part"
        digest = hashlib.sha256()
        size = 0
        head = b""
        # Disk writes and fsync run in a thread: an fsync can take tens of milliseconds and
        # must not stall every other request on the event loop.
        try:
            out = await asyncio.to_thread(open, temporary, "wb")
            try:
                while chunk := await source.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge()
                    if len(head) < 8192:
                        head += chunk[: 8192 - len(head)]
                    digest.update(chunk)
                    await asyncio.to_thread(out.write, chunk)
                await asyncio.to_thread(_flush_and_sync, out)
            finally:
                await asyncio.to_thread(out.close)
            await asyncio.to_thread(os.replace, temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
        kind = filetype.guess(head)
        return StoredFile(name, size, digest.hexdigest(), kind.mime if kind else None)

    def open_path(self, stored_name: str) -> Path:
        path = (self.root / stored_name).resolve()
        if path.parent != self.root.resolve():
            raise FileNotFoundError(stored_name)
        return path

    def delete(self, stored_name: str) -> None:
        self.open_path(stored_name).unlink(missing_ok=True)
