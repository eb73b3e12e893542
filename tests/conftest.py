"""Shared fixtures: a real database (SQLite and PostgreSQL), the app, a real SMTP server.

The fixed cast of the HTTP tests: Alice applies, the demo organiser (Claire) runs the call,
the demo jurors score, and Mallory has no business anywhere.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

import httpx
import pytest
from aiosmtpd.controller import Controller
from template_databases import Templates, backend_of

import grants.db
from grants.app import create_app
from grants.demo import DemoSummary
from grants.settings import Settings, load_settings

POSTGRES_URL = os.environ.get("GRANTS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    return free_port()


@dataclass
class Mailbox:
    """What the real SMTP server received."""

    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp() -> Mailbox:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port  # type: ignore[attr-defined]
    yield mailbox
    controller.stop()


@pytest.fixture(scope="session")
async def templates(tmp_path_factory) -> AsyncIterator[Templates]:
    """The session's migrated template databases (tests/template_databases.py)."""
    templates = Templates(tmp_path_factory.mktemp("templates"), POSTGRES_URL)
    yield templates
    await templates.close()


@pytest.fixture(params=BACKENDS)
async def settings(request, tmp_path, smtp, templates) -> AsyncIterator[Settings]:
    """This test's own copy of the migrated database of each backend (with the demo data if the
    test asks for `demo`); Tortoise opened for the test."""
    backend = request.param
    if backend == "postgres":
        problem = await templates.postgres_problem()
        if problem:
            pytest.skip(
                f"!!! PostgreSQL at {POSTGRES_URL} is NOT reachable ({problem}); "
                "the PostgreSQL half of the suite did not run !!!"
            )
    database = await templates.copy(backend, demo="demo" in request.fixturenames, data_dir=tmp_path)
    environ = {
        **templates.environ(database),
        "GRANTS_SECRET_KEY": "test-secret",
        "GRANTS_SMTP_PORT": str(smtp.port),
    }
    settings = load_settings(environ)
    await grants.db.open_database(settings)
    try:
        yield settings
    finally:
        await grants.db.close_database()
        await templates.drop(database)


@pytest.fixture
async def demo(settings, templates) -> DemoSummary:
    """The demo edition (grants.demo.load_demo): loaded once into a template, which `settings`
    copied for this test."""
    return templates.demo_summary(backend_of(settings))


class Browser(httpx.AsyncClient):
    """An HTTP client that behaves like a person's browser: cookies, CSRF tokens from pages."""

    csrf: str = ""

    async def page(self, url: str, **kwargs) -> httpx.Response:
        response = await self.get(url, **kwargs)
        match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        if match:
            self.csrf = match.group(1)
        return response

    async def submit(
        self, url: str, data: dict | None = None, *, files=None, token: bool = True
    ) -> httpx.Response:
        if not self.csrf:
            await self.page("/login")
        payload = dict(data or {})
        if token:
            payload["csrf_token"] = self.csrf
        return await self.post(url, data=payload, files=files)

    async def log_in(self, email: str, password: str) -> httpx.Response:
        await self.page("/login")
        response = await self.submit("/login", {"email": email, "password": password})
        assert response.status_code == 303, response.text[:2000]
        await self.page("/me")  # the session was renewed: take the new CSRF token
        return response

    async def log_out(self) -> None:
        await self.submit("/logout")
        self.csrf = ""


@pytest.fixture
async def app(settings):
    return create_app(settings, manage_database=False)


@pytest.fixture
async def browser(app) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 1234))
    async with Browser(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def make_browser(app):
    """More browsers (people), closed at the end of the test."""
    opened: list[Browser] = []

    async def make(ip: str = "203.0.113.8", *, on=None) -> Browser:
        """A person at address `ip`, on the test app or on another app (`on`)."""
        client = Browser(
            transport=httpx.ASGITransport(app=on or app, client=(ip, 1234)),
            base_url="http://testserver",
        )
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()
