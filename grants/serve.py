"""`grants serve`: the app under uvicorn, in one process or in several on one host:port.

Several processes (`--processes N`, Linux): each process binds a listening socket of its own to
the same address with SO_REUSEPORT, and the kernel spreads new connections over them. The
processes share nothing but the database and the upload directory, as separate hosts would.

Why not `uvicorn --workers N` (or the gunicorn worker): there the supervisor binds one socket
without naming IPPROTO_TCP and hands it down; accepted sockets inherit `proto == 0`, asyncio's
loop then leaves TCP_NODELAY off, and every keep-alive response after a connection's first waits
for the client's delayed ACK, about 40 ms on Linux (uvicorn issue 3149). Here the listener is
made with IPPROTO_TCP, so the accepted sockets get TCP_NODELAY from either event loop (uvloop
sets it on every TCP connection anyway). `tests/bench/keepalive_check.py` measures both.

If one process stops unexpectedly, the others are stopped too and the command exits with 1:
restarting is the job of whatever runs the command (systemd, the platform's process manager).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

import uvicorn

from grants.settings import load_settings

log = logging.getLogger("grants.serve")
APP = "grants.app:create_app"


def _forwarded_allow_ips() -> str:
    return load_settings().forwarded_allow_ips


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    processes: int = 1
    log_level: str = "info"
    timeout_keep_alive: int = 5  # uvicorn's default
    backlog: int = 2048  # uvicorn's default
    # GRANTS_FORWARDED_ALLOW_IPS: the proxies whose X-Forwarded-For/-Proto are believed. uvicorn
    # believes 127.0.0.1 by default; here nobody is, unless the operator names their proxy.
    forwarded_allow_ips: str = field(default_factory=_forwarded_allow_ips)

    def uvicorn_options(self) -> dict[str, Any]:
        return {
            "factory": True,
            "host": self.host,
            "port": self.port,
            "log_level": self.log_level,
            "timeout_keep_alive": self.timeout_keep_alive,
            "backlog": self.backlog,
            "proxy_headers": bool(self.forwarded_allow_ips),
            "forwarded_allow_ips": self.forwarded_allow_ips or "",
        }

    def config(self) -> uvicorn.Config:
        return uvicorn.Config(APP, **self.uvicorn_options())


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port that other processes may bind as well (SO_REUSEPORT).

    IPPROTO_TCP is named on purpose: accepted sockets inherit `proto`, and asyncio sets
    TCP_NODELAY on an accepted socket only when it reports IPPROTO_TCP."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve_one(options: ServeOptions) -> None:
    """One of the processes: its own socket, its own uvicorn server.

    uvicorn handles SIGINT and SIGTERM while it serves, then raises the signal again under the
    handler it found; ignored here, so a process that shut down cleanly exits with 0."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = listening_socket(options.host, options.port)
    uvicorn.Server(options.config()).run(sockets=[sock])


def serve(options: ServeOptions) -> int:
    if options.processes <= 1:
        uvicorn.run(APP, **options.uvicorn_options())
        return 0
    if not hasattr(socket, "SO_REUSEPORT"):
        log.error("--processes needs SO_REUSEPORT (Linux); run one process per port instead")
        return 1
    # Bind once here first: a port in use is reported before any process starts.
    listening_socket(options.host, options.port).close()
    logging.basicConfig(level=options.log_level.upper(), format="%(levelname)s:  %(message)s")
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=serve_one, args=(options,), name=f"grants-serve-{number}")
        for number in range(options.processes)
    ]
    for child in children:
        child.start()
    log.info(
        "Serving on http://%s:%d with %d processes %s (SO_REUSEPORT)",
        options.host,
        options.port,
        options.processes,
        [child.pid for child in children],
    )
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.is_alive() and child.pid:
                os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    wait([child.sentinel for child in children])
    if not stopping:
        log.error("a server process stopped unexpectedly; stopping the others")
        stop(signal.SIGTERM, None)
    for child in children:
        child.join()
    return 0 if stopping and all(child.exitcode == 0 for child in children) else 1
