"""A real OTLP receiver for the agent stand-in (contract §6.1, L1): gRPC on 4317, HTTP on 4318.

Spans arrive as OTLP protobuf (``opentelemetry-proto``), are flattened into the agent's span rows
(``otel_spans_local``: ms timestamps, hex ids, ``SERVER``/``INTERNAL``…, ``isError`` only from
status ERROR — T1) and filtered as Coral does: keep errors, keep spans over 500 ms, keep the rest
at ``sample_rate``.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

import grpc
from aiohttp import web
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

log = logging.getLogger("sandbox.coral.otlp")
KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


def _value(v: Any) -> str:
    kind = v.WhichOneof("value")
    if kind is None:
        return ""
    raw = getattr(v, kind)
    if kind == "bool_value":
        return "true" if raw else "false"
    return str(raw)


def flatten(request: trace_service_pb2.ExportTraceServiceRequest) -> list[dict[str, Any]]:
    """ExportTraceServiceRequest → the agent's span rows."""
    rows = []
    for rs in request.resource_spans:
        service = next((_value(a.value) for a in rs.resource.attributes if a.key == "service.name"), "")
        for ss in rs.scope_spans:
            for sp in ss.spans:
                attrs = {a.key: _value(a.value) for a in sp.attributes}
                status = attrs.get("http.status_code") or attrs.get("http.response.status_code") or "0"
                rows.append({
                    "timestamp": sp.start_time_unix_nano // 1_000_000,
                    "traceId": sp.trace_id.hex(), "spanId": sp.span_id.hex(), "parentSpanId": sp.parent_span_id.hex(),
                    "name": sp.name, "serviceName": service, "spanKind": KINDS.get(sp.kind, "UNSPECIFIED"),
                    "durationMs": (sp.end_time_unix_nano - sp.start_time_unix_nano) / 1e6,
                    "isError": sp.status.code == trace_pb2.Status.STATUS_CODE_ERROR,
                    "httpStatus": int(status) if str(status).isdigit() else 0,
                    "httpMethod": attrs.get("http.method", ""), "httpRoute": attrs.get("http.route", ""),
                    "attributes": attrs})
    return rows


def keep(row: dict[str, Any], sample_rate: float) -> bool:
    """Coral's filter: errors always, slow spans (> 500 ms) always, the rest at the sample rate."""
    return bool(row["isError"]) or row["durationMs"] > 500 or random.random() < sample_rate


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, sink: Callable[[list[dict[str, Any]]], None]) -> None:
        self.sink = sink

    async def Export(self, request, context):
        self.sink(flatten(request))
        return trace_service_pb2.ExportTraceServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, counter: Callable[[int], None]) -> None:
        self.counter = counter

    async def Export(self, request, context):
        self.counter(sum(len(sm.metrics) for rm in request.resource_metrics for sm in rm.scope_metrics))
        return metrics_service_pb2.ExportMetricsServiceResponse()


async def start_grpc(port: int, sink: Callable[[list[dict[str, Any]]], None],
                     metrics: Callable[[int], None]) -> grpc.aio.Server:
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(sink), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(metrics), server)
    server.add_insecure_port(f"0.0.0.0:{port}")
    await server.start()
    return server


def http_routes(app: web.Application, sink: Callable[[list[dict[str, Any]]], None],
                metrics: Callable[[int], None]) -> None:
    """OTLP/HTTP with protobuf bodies: ``POST /v1/traces`` and ``/v1/metrics``."""
    async def traces(request: web.Request) -> web.Response:
        req = trace_service_pb2.ExportTraceServiceRequest()
        req.ParseFromString(await request.read())
        sink(flatten(req))
        return web.Response(body=trace_service_pb2.ExportTraceServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")

    async def metric(request: web.Request) -> web.Response:
        req = metrics_service_pb2.ExportMetricsServiceRequest()
        req.ParseFromString(await request.read())
        metrics(sum(len(sm.metrics) for rm in req.resource_metrics for sm in rm.scope_metrics))
        return web.Response(body=metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")
    app.router.add_post("/v1/traces", traces)
    app.router.add_post("/v1/metrics", metric)
