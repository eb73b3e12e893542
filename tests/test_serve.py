"""`grants serve` believes X-Forwarded-For only from the proxies GRANTS_FORWARDED_ALLOW_IPS
names: by default from nobody (uvicorn's own default believes loopback), so a client cannot pick
the address that log-in throttling and the audit trail see."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from grants.serve import ServeOptions

ROOT = Path(__file__).resolve().parents[1]
GRANTS = str(Path(sys.executable).parent / "grants")
SPOOFED = "203.0.113.99"


def test_nobody_is_believed_unless_the_setting_names_them(monkeypatch):
    monkeypatch.delenv("GRANTS_FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.setenv("GRANTS_SECRET_KEY", "test")
    assert ServeOptions().uvicorn_options()["proxy_headers"] is False
    monkeypatch.setenv("GRANTS_FORWARDED_ALLOW_IPS", "10.0.0.2, 10.0.0.3")
    options = ServeOptions().uvicorn_options()
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "10.0.0.2, 10.0.0.3"
    assert ServeOptions().config().forwarded_allow_ips == "10.0.0.2, 10.0.0.3"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def address_seen(environ: dict[str, str]) -> str:
    """The address a real server records for a failed log-in sent with a spoofed
    X-Forwarded-For from loopback."""
    port = free_port()
    server = subprocess.Popen(
        [GRANTS, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=environ,
        cwd=ROOT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "no server"
                time.sleep(0.1)
        with httpx.Client(base_url=base, headers={"X-Forwarded-For": SPOOFED}) as client:
            page = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            response = client.post(
                "/login",
                data={"email": "nobody@example.org", "password": "wrong", "csrf_token": token},
            )
            assert response.status_code == 400
    finally:
        server.terminate()
        server.wait(timeout=30)
    database = Path(environ["GRANTS_DATA_DIR"]) / "grants.sqlite3"
    with sqlite3.connect(database) as connection:
        (ip,) = connection.execute(
            "SELECT ip FROM auditevent WHERE action = 'login.failed' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return ip


def test_a_real_server_believes_x_forwarded_for_only_from_the_named_proxy(tmp_path):
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GRANTS_DATA_DIR": str(tmp_path),
        "GRANTS_SECRET_KEY": "test",
        "GRANTS_SMTP_PORT": "1",
    }
    environ.pop("GRANTS_DATABASE_URL", None)
    environ.pop("GRANTS_FORWARDED_ALLOW_IPS", None)
    subprocess.run([GRANTS, "migrate"], env=environ, cwd=ROOT, check=True, capture_output=True)
    assert address_seen(environ) == "127.0.0.1"
    trusted = {**environ, "GRANTS_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    assert address_seen(trusted) == SPOOFED
