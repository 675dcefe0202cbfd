"""Real network targets for monitors: ports proven closed, and listeners that make them healthy.

Why "proven": a monitor spec that expects a failure is only meaningful if the target really
refuses connections; an assumed-free port that something else listens on would turn the spec
green for the wrong reason.
"""
from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from typing import Any


def port_is_closed(host: str, port: int, timeout: float = 1.0) -> bool:
    """True only when a connection is actively refused (a timeout proves nothing either way)."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def closed_port(host: str = "127.0.0.1", tries: int = 20) -> int:
    """A port nobody listens on, proven by a refused connection (not just assumed)."""
    for _ in range(tries):
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port_is_closed(host, port):
            return port
    raise RuntimeError(f"could not find a provably closed port on {host} after {tries} tries")


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now (bind to 0 and release): for listeners the harness itself starts."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class TcpListener:
    """Accepts (and drops) connections on host:port until closed: a healthy TCP target.

    Usable as a context manager; ``close()`` is idempotent so it can also sit on a cleanup stack.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"tcp-listener-{self.port}")
        self._thread.start()

    def _loop(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        # shutdown() wakes a blocked accept() at once on Linux (no wait for its 0.2 s timeout)
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(2)
        self.sock.close()

    def __enter__(self) -> TcpListener:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _OkHandler(http.server.BaseHTTPRequestHandler):
    def _ok(self) -> None:
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _ok  # http.server's naming

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass


class HttpServer:
    """A tiny HTTP server answering 200 ``ok`` to everything: a healthy HTTP target."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = http.server.ThreadingHTTPServer((host, port), _OkHandler)
        self.server.daemon_threads = True
        self.host, self.port = host, self.server.server_address[1]
        self.url = f"http://{host}:{self.port}/"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name=f"http-target-{self.port}")
        self._thread.start()
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HttpServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
