"""Prometheus scrapes of the gateway and the explainer: families, samples, deltas between two
scrapes, and the low-cardinality rule (no trace id in any label value; bounded series).

Parsed with ``prometheus_client.parser`` (the reference implementation of the text format)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ..errors import InfrastructureError

TRACE_ID = re.compile(r"trc_[A-Za-z0-9_]+")
GATEWAY_FAMILIES = ("http_requests_total", "http_request_duration_seconds", "chat_requests_total",
                    "traces_status_get_total", "traces_graph_get_total", "rate_limit_rejections_total",
                    "rbac_denied_total")
#: Families a labelled counter shows only once used; present after this run's own traffic.
EXPLAINER_FAMILIES = ("explainer_jobs_total", "explainer_stage_duration_seconds")
ALLOWED_LABELS = {"tenant_id", "granularity", "featureset", "service", "version", "path", "method", "status",
                  "category", "stage", "state", "le", "tenant", "action", "device", "layer"}


@dataclass
class Scrape:
    text: str
    types: dict[str, str] = field(default_factory=dict)                 # family → type (TYPE lines)
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> Scrape:
        out = cls(text)
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                out.types[name] = kind.strip()
        for fam in text_string_to_metric_families(text):
            for s in fam.samples:
                out.samples.append((s.name, dict(s.labels), float(s.value)))
        return out

    def names(self) -> set[str]:
        return {n for n, _, _ in self.samples}

    def value(self, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels`` (0 when none)."""
        return sum(v for n, lab, v in self.samples if n == name and all(lab.get(k) == x for k, x in labels.items()))

    def has(self, name: str, **labels: str) -> bool:
        return any(n == name and all(lab.get(k) == x for k, x in labels.items()) for n, lab, _ in self.samples)

    def label_values(self) -> Iterable[tuple[str, str, str]]:
        for n, lab, _ in self.samples:
            for k, v in lab.items():
                yield n, k, v

    def trace_id_labels(self, known_ids: Iterable[str] = ()) -> list[str]:
        """``name{label="value"}`` for each label value that carries a trace id (pattern or known)."""
        ids = [i for i in known_ids if i]
        bad = []
        for n, k, v in self.label_values():
            if TRACE_ID.search(v) or any(i in v for i in ids):
                bad.append(f'{n}{{{k}="{v}"}}')
        return sorted(set(bad))

    def series_count(self) -> int:
        return len({(n, tuple(sorted(lab.items()))) for n, lab, _ in self.samples})


def scrape(url: str, setting: str, timeout: float = 10.0) -> Scrape:
    try:
        r = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as e:
        raise InfrastructureError(f"metrics at {url} unreachable ({type(e).__name__}): check {setting}") from None
    if r.status_code != 200:
        raise InfrastructureError(f"metrics at {url} answered {r.status_code}: check {setting} (ENABLE_OTEL=1?)")
    return Scrape.parse(r.text)


def try_scrape(url: str | None, timeout: float = 10.0) -> Scrape | None:
    """A scrape, or None when the endpoint is unreachable or not Prometheus text (a skip, not a failure)."""
    if not url:
        return None
    try:
        r = httpx.get(url, timeout=timeout)
        if r.status_code != 200:
            return None
        return Scrape.parse(r.text)
    except (httpx.HTTPError, ValueError):
        return None
