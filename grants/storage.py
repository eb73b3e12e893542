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
from typing import BinaryIO

import filetype

CHUNK = 256 * 1024


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    size: int
    sha256: str
    content_type: str | None  # sniffed from the bytes, never the client's claim


class TooLarge(Exception):
    pass


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    async def save(self, source: BinaryIO, *, max_bytes: int) -> StoredFile:
        """Copy to a temporary file, fsync, then rename into place (never half-written)."""
        # The whole copy runs in one worker thread: reads, hashing and writes release the GIL,
        # an fsync can take tens of milliseconds, and a busy event loop makes every extra hop
        # between loop and thread cost a full turn of the loop.
        return await asyncio.to_thread(self._save, source, max_bytes)

    def _save(self, source: BinaryIO, max_bytes: int) -> StoredFile:
        name = secrets.token_hex(16)
        temporary = self.root / f".{name}.part"
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with open(temporary, "wb") as out:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge()
                    if len(head) < 8192:
                        head += chunk[: 8192 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.root / name)
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
