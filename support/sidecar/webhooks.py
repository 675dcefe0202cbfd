"""A webhook receiver the pack runs on loopback: records every POST so a spec can wait for the
delivery that names its trace and event."""
from __future__ import annotations

import http.server
import json
import threading
import time
from typing import Any

from ..waiting import poll


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.server.receiver._record(self.path, body)  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.server = http.server.ThreadingHTTPServer((host, 0), _Handler)
        self.server.daemon_threads = True
        self.server.receiver = self  # type: ignore[attr-defined]
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True, name="e2et-webhook-receiver")
        self._thread.start()
        self._closed = False

    def _record(self, path: str, body: Any) -> None:
        with self._lock:
            self.received.append({"path": path, "body": body, "at": time.time()})

    def hook_url(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def deliveries(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.received if r["path"] == f"/hooks/{name}"]

    def wait_for(self, name: str, trace_id: str, event: str, timeout: float) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for r in self.deliveries(name):
                text = json.dumps(r["body"])
                if trace_id in text and event in text:
                    return r
            return None
        return poll(found, timeout, f"webhook delivery naming trace {trace_id} and event {event!r}",
                    seen=lambda: f"deliveries to this hook: {[r['body'] for r in self.deliveries(name)][:3]}")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.server.shutdown()
            self.server.server_close()
