"""Real network targets for monitors: ports proven closed, and listeners that make them healthy."""
from __future__ import annotations

import socket
import threading


def port_is_closed(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return True


def closed_port(host: str = "127.0.0.1", tries: int = 20) -> int:
    """A port nobody listens on, proven by a refused connection (not just assumed)."""
    for _ in range(tries):
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port_is_closed(host, port):
            return port
    raise RuntimeError(f"could not find a closed port on {host}")


class TcpListener:
    """Accepts (and drops) connections on host:port until closed: a healthy TCP target."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name=f"tcp-listener-{port}")
        self._thread.start()

    def _loop(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                conn.close()
            except (socket.timeout, OSError):
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
