"""Service mode: ``e2et serve --port N`` runs the suite on demand and exports its health.

Why: operators run e2et as a continuous synthetic check and let the platform's own alerting
watch it. ``GET /`` runs the configured suite once (200 passed / 500 failed, body = summary;
423 while a run is in progress — two runs would share the tenant and fight over its
resources); ``GET /metrics`` is Prometheus text about the last run. A failing or crashing run
never takes the server down, and nothing it answers or logs carries a secret.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Enum, Gauge, generate_latest

from .suite_run import BehaveSuiteRunner, RunResult, SuiteRunner, redact, secret_values

SCENARIO_STATES = ["passed", "failed", "skipped", "untested", "error"]


class RunMetrics:
    """Prometheus metrics of the last run(s), in a registry of their own (one per server)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.success = Gauge("e2et_last_run_success", "1 if the last run passed, else 0", registry=r)
        self.duration = Gauge("e2et_last_run_duration_seconds", "Wall time of the last run", registry=r)
        self.timestamp = Gauge("e2et_last_run_timestamp_seconds", "Unix time the last run finished", registry=r)
        self.exit_code = Gauge("e2et_last_run_exit_code", "Exit code of the last run (0 passed, 1 failed, 2 input)",
                               registry=r)
        self.in_progress = Gauge("e2et_run_in_progress", "1 while a run is going on", registry=r)
        self.runs = Counter("e2et_runs", "Runs by result", ["result"], registry=r)
        self.scenario = Enum("e2et_scenario_status", "Status of each scenario in the last run",
                             ["feature", "scenario"], states=SCENARIO_STATES, registry=r)

    def record(self, result: RunResult) -> None:
        self.success.set(1 if result.success else 0)
        self.duration.set(result.duration)
        self.timestamp.set(result.finished)
        self.exit_code.set(result.exit_code)
        self.runs.labels(result="passed" if result.success else "failed").inc()
        # Only the last run's scenarios: a renamed or removed scenario must not linger as "passed".
        self.scenario.clear()
        for s in result.scenarios:
            state = s.status if s.status in SCENARIO_STATES else "error"
            self.scenario.labels(feature=s.feature, scenario=s.name).state(state)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class SuiteService:
    """The state behind the HTTP handler: one run at a time, the last result, the metrics."""

    def __init__(self, runner: SuiteRunner, log: TextIO | None = None) -> None:
        self.runner = runner
        self.metrics = RunMetrics()
        self.last: RunResult | None = None
        self._busy = threading.Lock()
        self._log = log or sys.stderr

    def run_once(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body); 423 without waiting when a run is already going on."""
        if not self._busy.acquire(blocking=False):
            body: dict[str, Any] = {"result": "busy",
                                    "error": "a run is already in progress; try again when it has finished"}
            if self.last is not None:
                body["last"] = self.last.summary()
            return HTTPStatus.LOCKED, body
        try:
            self.metrics.in_progress.set(1)
            started = time.time()
            try:
                result = self.runner()
            except Exception as e:  # noqa: BLE001 — the server outlives any runner failure
                result = RunResult(exit_code=2, started=started, finished=time.time(),
                                   error=f"the run could not be started: {type(e).__name__}: {e}")
            self.last = result
            self.metrics.record(result)
        finally:
            self.metrics.in_progress.set(0)
            self._busy.release()
        summary = result.summary()
        self._say(f"run {summary['result']} in {summary['duration_seconds']}s: {summary['scenarios']}"
                  + (f" — {summary['error']}" if summary["error"] else ""))
        return (HTTPStatus.OK if result.success else HTTPStatus.INTERNAL_SERVER_ERROR), summary

    def _say(self, line: str) -> None:
        print(f"e2et serve: {redact(line, secret_values())}", file=self._log, flush=True)


def _handler(service: SuiteService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "e2et-serve"

        def do_GET(self) -> None:  # http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/":
                status, body = service.run_once()
                self._send(status, json.dumps(body, indent=2).encode() + b"\n", "application/json")
            elif path == "/metrics":
                self._send(HTTPStatus.OK, service.metrics.text(), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._send(HTTPStatus.OK, b"ok\n", "text/plain")
            else:
                self._send(HTTPStatus.NOT_FOUND, b'{"error": "GET / runs the suite; GET /metrics"}\n',
                           "application/json")

        def _send(self, status: int, payload: bytes, ctype: str) -> None:
            payload = redact(payload.decode(), secret_values()).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, fmt: str, *args: Any) -> None:
            # Access log without query strings (they are never needed and could carry anything).
            print(f"e2et serve: {self.address_string()} {self.command} {self.path.split('?', 1)[0]} "
                  f"{args[1] if len(args) > 1 else ''}", file=sys.stderr, flush=True)

    return Handler


def make_server(service: SuiteService, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A threading HTTP server (port 0 = any free port): /metrics answers during a run."""
    server = ThreadingHTTPServer((host, port), _handler(service))
    server.daemon_threads = True
    return server


def serve(port: int, host: str, profile: str | None, tags: list[str], reports: Path,
          run_timeout: float | None = None, behave_args: list[str] | None = None, keep_runs: int = 20) -> int:
    """Run the service in the foreground until SIGINT/SIGTERM."""
    import signal

    runner = BehaveSuiteRunner(profile, tags, reports, timeout=run_timeout, extra_args=behave_args,
                               keep_runs=keep_runs)
    service = SuiteService(runner)
    server = make_server(service, host, port)

    def stop(signum: int, _frame: object) -> None:
        runner.stop()
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    print(f"e2et serve: listening on http://{host}:{server.server_address[1]}/ (profile "
          f"{profile or 'from E2ET_PROFILE/local'}, tags {' '.join(tags) or 'all packs'})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        runner.stop()
    finally:
        server.server_close()
    return 0
