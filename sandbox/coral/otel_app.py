"""otel-app (contract §6.2): the L1 test app, instrumented with the OpenTelemetry SDK from PyPI.

Routes ``/``, ``/api/users``, ``/api/products``, ``/api/checkout`` (any method), ``/health``. Each
request is one SERVER root span named ``<METHOD> <path>`` (checkout: ``POST /api/checkout``) with
``http.method``, ``http.target``, ``http.route`` and ``http.status_code``, plus ``error=true`` when
the status is ≥ 400 — and, like the original (T1), never a span status ERROR. Children are INTERNAL:
users → ``database.query`` (postgresql, 20–50 ms); products → ``cache.get`` (key ``products``,
5–15 ms) then ``database.query`` (30–70 ms); checkout → up to five sibling steps, each failing at
its rate, stopping at the first failure with a 500 (≈ 34 % of checkouts fail, T2). Spans and
metrics go over OTLP/gRPC to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default ``localhost:4317``).
"""
from __future__ import annotations

import os
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

STEPS = [("validate-cart", 0.05), ("check-inventory", 0.10), ("process-payment", 0.15),
         ("update-inventory", 0.05), ("send-confirmation", 0.05)]


def _setup() -> tuple[trace.Tracer, dict]:
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317")
    resource = Resource.create({"service.name": "otel-app"})
    provider = TracerProvider(resource=resource)
    delay = int(os.environ.get("OTEL_BSP_SCHEDULE_DELAY", "5000"))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True),
                                                   schedule_delay_millis=delay))
    trace.set_tracer_provider(provider)
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint, insecure=True),
                                           export_interval_millis=5000)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    meter = metrics.get_meter("otel-app")
    instruments = {"requests": meter.create_counter("http.server.requests"),
                   "duration": meter.create_histogram("http.server.duration", unit="ms"),
                   "active": meter.create_up_down_counter("http.server.active_requests")}
    return trace.get_tracer("otel-app"), instruments


TRACER, INSTRUMENTS = _setup()


def _sleep_ms(lo: float, hi: float) -> None:
    threading.Event().wait(random.uniform(lo, hi) / 1000.0)   # the app's simulated work


def _work(path: str) -> int:
    if path == "/api/users":
        with TRACER.start_as_current_span("database.query", kind=SpanKind.INTERNAL,
                                          attributes={"db.system": "postgresql", "db.operation": "SELECT"}):
            _sleep_ms(20, 50)
        return 200
    if path == "/api/products":
        with TRACER.start_as_current_span("cache.get", kind=SpanKind.INTERNAL, attributes={"cache.key": "products"}):
            _sleep_ms(5, 15)
        with TRACER.start_as_current_span("database.query", kind=SpanKind.INTERNAL,
                                          attributes={"db.system": "postgresql", "db.operation": "SELECT"}):
            _sleep_ms(30, 70)
        return 200
    if path == "/api/checkout":
        for step, rate in STEPS:
            with TRACER.start_as_current_span(step, kind=SpanKind.INTERNAL) as span:
                _sleep_ms(2, 8)
                if random.random() < rate:
                    span.set_attribute("error", True)
                    return 500
        return 200
    return 200 if path in ("/", "/health") else 404


class Handler(BaseHTTPRequestHandler):
    def _serve(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        if path == "/health":
            return self._reply(200, b"OK")
        method = "POST" if path == "/api/checkout" else self.command
        started = time.monotonic()
        INSTRUMENTS["active"].add(1)
        with TRACER.start_as_current_span(f"{method} {path}", kind=SpanKind.SERVER,
                                          attributes={"http.method": self.command, "http.target": self.path,
                                                      "http.route": path}) as span:
            status = _work(path)
            span.set_attribute("http.status_code", status)
            if status >= 400:
                span.set_attribute("error", True)       # an attribute only: never span status ERROR (T1)
        INSTRUMENTS["active"].add(-1)
        INSTRUMENTS["requests"].add(1, {"http.route": path, "http.status_code": status})
        INSTRUMENTS["duration"].record((time.monotonic() - started) * 1000, {"http.route": path})
        self._reply(status, b'{"status":"ok"}' if status < 400 else b'{"error":"step failed"}')

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _serve

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    threading.Event().wait(float(os.environ.get("OTEL_APP_START_DELAY", "5")))   # as the original app
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("HTTP_PORT", "8080"))), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
