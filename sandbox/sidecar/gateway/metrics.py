"""The gateway's Prometheus families (contract §6), on a registry of its own."""
from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, disable_created_metrics, Counter, Histogram

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_TRACE_PATH = re.compile(r"^/v1/traces/[^/]+(/(status|graph|stream|webhooks))?$")
_EXPLANATION = re.compile(r"^/v1/chat/completions/[^/]+/explanation$")


def template(path: str) -> str:
    """``/v1/traces/trc_1/status`` → ``/v1/traces/_/status``: no id ever becomes a label value."""
    m = _TRACE_PATH.match(path)
    if m:
        return "/v1/traces/_" + (m.group(1) or "")
    if _EXPLANATION.match(path):
        return "/v1/chat/completions/_/explanation"
    if path in ("/v1/chat/completions", "/healthz", "/metrics"):
        return path
    return "other"

# the contract's exposition has no *_created samples (a histogram is only _bucket, _sum, _count)
disable_created_metrics()


class GatewayMetrics:
    def __init__(self, version: str) -> None:
        self.registry = r = CollectorRegistry()
        self.version = version
        self.requests = Counter("http_requests", "HTTP requests", ["path", "method", "status", "tenant_id",
                                                                  "service", "version"], registry=r)
        self.duration = Histogram("http_request_duration_seconds", "HTTP request duration",
                                  ["path", "method", "status", "service", "version"], buckets=BUCKETS, registry=r)
        self.chat = Counter("chat_requests", "chat requests", ["tenant_id", "granularity", "featureset",
                                                               "service", "version"], registry=r)
        self.status_get = Counter("traces_status_get", "status reads", ["tenant_id", "service", "version"],
                                  registry=r)
        self.graph_get = Counter("traces_graph_get", "graph reads", ["tenant_id", "service", "version"], registry=r)
        self.rate_limited = Counter("rate_limit_rejections", "429s", ["tenant_id", "category", "service", "version"],
                                    registry=r)
        self.rbac_denied = Counter("rbac_denied", "401/403s", ["tenant_id", "service", "version"], registry=r)

    def lbl(self, **kw: str) -> dict[str, str]:
        return {**kw, "service": "gateway", "version": self.version}
