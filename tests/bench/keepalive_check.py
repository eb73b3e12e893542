"""Keep-alive latency and TCP_NODELAY on the servers' accepted sockets, per way of serving.

Run: `.venv/bin/python tests/bench/keepalive_check.py [--ways WAY ...] [--connections N]
[--requests N]`. Ways: `serve-1` (`grants serve`), `serve` (`grants serve --processes 2`),
`workers` (`uvicorn --workers 2`) and `workers-asyncio` (the same on asyncio's own loop).

For each way it starts the servers on loopback, opens `--connections` connections and sends
`--requests` GET / on each, one after another, and prints the median latency of a connection's
first request and of the later ones. With TCP_NODELAY off, a later response whose last part is
small waits for the client's delayed ACK, about 40 ms on Linux (uvicorn issue 3149). While the
connections are open it reads TCP_NODELAY on the servers' own accepted sockets (pidfd_getfd:
Linux 5.6 or later, as root or with ptrace rights).

First it checks the mechanism in this process, on asyncio's loop and on uvloop: a connection
accepted on a listener made as uvicorn's supervisor makes it (protocol 0) and as `grants serve`
makes it (IPPROTO_TCP).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import uvloop
from common import (
    ROOT,
    Servers,
    append_summary,
    bench_environment,
    child_pids,
    cleanup,
    free_port,
    listening_socket,
    prepare,
    start_servers,
    verdict,
)

SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture
WAYS = ("serve-1", "serve", "workers", "workers-asyncio")


def nodelay_of_accepted(make_listener, loop_factory) -> int:
    """TCP_NODELAY of a connection accepted by an asyncio server on this listener and loop."""
    seen: list[int] = []

    class Report(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        listener = make_listener()
        server = await asyncio.get_running_loop().create_server(Report, sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        while not seen:
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
    return seen[0]


def uvicorn_supervisor_listener() -> socket.socket:
    """As uvicorn's Config.bind_socket makes it for --workers: no protocol named."""
    sock = socket.socket(family=socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def mechanism() -> None:
    print("mechanism, in this process: TCP_NODELAY on an accepted connection (1 = set)")
    for loop_name, factory in (
        ("asyncio", asyncio.new_event_loop),
        ("uvloop", uvloop.new_event_loop),
    ):
        uvicorn_way = nodelay_of_accepted(uvicorn_supervisor_listener, factory)
        grants_way = nodelay_of_accepted(lambda: listening_socket("127.0.0.1", 0), factory)
        print(
            f"  {loop_name:<8} listener without protocol (uvicorn --workers): {uvicorn_way}; "
            f"with IPPROTO_TCP (grants serve --processes): {grants_way}"
        )


def established_inodes(port: int) -> set[str]:
    """Socket inodes of established connections whose local port is `port` (the server side)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def servers_nodelay(pids: list[int], port: int) -> list[int]:
    """TCP_NODELAY of every accepted connection on `port` held by these processes, read from a
    copy of each socket taken with pidfd_getfd."""
    libc = ctypes.CDLL(None, use_errno=True)
    wanted = {f"socket:[{inode}]" for inode in established_inodes(port)}
    values = []
    for pid in pids:
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
            pidfd = os.pidfd_open(pid)
        except OSError:
            continue
        try:
            for name in descriptors:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{name}") not in wanted:
                        continue
                except OSError:
                    continue
                copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
                if copy < 0:
                    raise OSError(ctypes.get_errno(), "pidfd_getfd")
                with socket.socket(fileno=copy) as sock:
                    values.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        finally:
            os.close(pidfd)
    return values


def start_workers(environ: dict[str, str], loop: str) -> Servers:
    """`uvicorn --workers 2`: the supervisor binds the socket and hands it to the workers."""
    port = free_port()
    command = [str(ROOT / ".venv/bin/uvicorn"), "--factory", "grants.app:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--loop", loop]
    command += ["--log-level", "warning", "--timeout-keep-alive", "30"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **environ}
    log = Path(environ["GRANTS_DATA_DIR"]) / "workers.log"
    with log.open("wb") as output:
        popen = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=output)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    time.sleep(2)  # both workers up
    children = child_pids(popen.pid)
    return Servers([popen], [port], [command], log, [popen.pid, *children])


def measure(servers: Servers, connections: int, requests: int) -> tuple:
    """Latencies of first and later requests on kept-alive connections, and TCP_NODELAY of the
    servers' accepted sockets while the connections are open.

    The client is http.client: the load generator's asyncio client reads in a way that makes
    the kernel acknowledge at once, and does not see the delayed-ACK wait (measured: 2 ms where
    http.client waits 44 ms); a browser is not known to be so kind."""
    clients = [
        http.client.HTTPConnection("127.0.0.1", servers.port_for(n)) for n in range(connections)
    ]
    first, later = [], []
    for client in clients:
        for number in range(requests):
            started = time.perf_counter()
            client.request("GET", "/")
            response = client.getresponse()
            response.read()
            assert response.status == 200, response.status
            (later if number else first).append(time.perf_counter() - started)
    nodelay: list[int] = []
    for port in servers.ports:
        nodelay += servers_nodelay(servers.pids, port)
    for client in clients:
        client.close()
    return first, later, nodelay


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=list(WAYS))
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--requests", type=int, default=50, help="per connection")
    parser.add_argument("--summary", metavar="FILE", help="append PASS/FAIL lines to FILE")
    options = parser.parse_args()
    mechanism()
    environ, schema = asyncio.run(bench_environment("sqlite", "keepalive"))
    asyncio.run(prepare(environ, 0))
    print(
        f"\nGET / on {options.connections} connections, {options.requests} requests on each "
        "one after another (http.client)"
    )
    summary = []
    for way in options.ways:
        line, ok = check_way(way, environ, options)
        print(f"  {line}")
        if way.startswith("serve"):  # grants serve's ways are the target; the others, reference
            summary.append(f"keep-alive: {verdict(ok)} {line}")
    asyncio.run(cleanup(environ, schema))
    append_summary(options.summary, summary)
    return 0 if all("PASS" in line for line in summary) else 1


def check_way(way: str, environ: dict[str, str], options: argparse.Namespace) -> tuple[str, bool]:
    """Serve one way, measure; the line to print and whether no delayed-ACK wait showed."""
    if way.startswith("workers"):
        servers = start_workers(environ, "asyncio" if way.endswith("asyncio") else "uvloop")
    else:
        servers = start_servers(environ, 1 if way == "serve-1" else 2, "reuseport", 30)
    try:
        first, later, nodelay = measure(servers, options.connections, options.requests)
    finally:
        servers.stop()
    delayed = statistics.median(later) > 0.030
    line = (
        f"{way:<16} first request {1000 * statistics.median(first):6.1f} ms, "
        f"later ones {1000 * statistics.median(later):6.1f} ms (median), "
        f"accepted sockets with TCP_NODELAY: {sum(nodelay)} of {len(nodelay)}"
        + ("  <- delayed ACK wait" if delayed else "")
    )
    return line, not delayed and bool(nodelay) and all(nodelay)


if __name__ == "__main__":
    sys.exit(main())
