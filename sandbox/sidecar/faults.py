"""Fault switches: break one specified behaviour on purpose, to prove the spec that checks it fails.

The gateway and the explainer are separate processes, so the active set lives in one small JSON
file (rewritten atomically by the control server) that each process re-reads when it changes:
``FaultBoard.active(name)`` costs one ``stat`` call.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.common.faults import FaultSpec as CommonFaultSpec

CROSS_TENANT = "cross-tenant-access"
TENANT_OVERWRITE = "tenant-overwrite"
SCOPE_CHECK_OFF = "scope-check-off"
DENIED_CREATES_TRACE = "denied-creates-trace"
RATE_LIMITER_OFF = "rate-limiter-off"
HIF_SCHEMA_VIOLATION = "hif-schema-violation"
HIF_DANGLING = "hif-dangling-reference"
WEBHOOK_NEVER_SENT = "webhook-never-sent"
SSE_NO_COMPLETE = "sse-no-complete"
CANCEL_TERMINAL = "cancel-terminal-accepted"
METRICS_MISSING = "metrics-missing"
METRICS_TRACE_LABEL = "metrics-trace-id-label"
METRICS_DOUBLE = "metrics-double-count"
PII_RAW = "pii-raw"
TOKEN_IN_AUDIT = "token-in-audit"
NO_BACKPRESSURE = "no-backpressure"
SLOW_STAGE = "slow-stage"
CHAOS_IGNORED = "chaos-ignored"
CHAOS_NEVER_RECOVERS = "chaos-never-recovers"
PATH_OUTSIDE_V1 = "path-outside-v1"
CHART_MISSING_KIND = "chart-missing-kind"
KEDA_DRIFT = "keda-drift"
REPLICA_BOUNDS_TOO_SMALL = "replica-bounds-too-small"


@dataclass(frozen=True)
class FaultSpec(CommonFaultSpec):
    artifact: bool = False      # applied by rewriting the sandbox's copy of the deploy artifacts


CATALOG: dict[str, FaultSpec] = {f.name: f for f in [
    FaultSpec(CROSS_TENANT, "another tenant may read, stream, hook and cancel a trace (owner check off)"),
    FaultSpec(TENANT_OVERWRITE, "the status store takes the new tenant when another tenant reuses a trace id"),
    FaultSpec(SCOPE_CHECK_OFF, "scopes are not checked: any known token passes every route"),
    FaultSpec(DENIED_CREATES_TRACE, "a chat denied for a missing scope still creates its trace"),
    FaultSpec(RATE_LIMITER_OFF, "the per-tenant token buckets never reject (no 429)"),
    FaultSpec(HIF_SCHEMA_VIOLATION, "graphs carry null fields and an extra key (not HIF v1)"),
    FaultSpec(HIF_DANGLING, "graphs carry an incidence that references a node that does not exist"),
    FaultSpec(WEBHOOK_NEVER_SENT, "registered webhooks are never delivered"),
    FaultSpec(SSE_NO_COMPLETE, "the trace stream never sends its complete event"),
    FaultSpec(CANCEL_TERMINAL, "cancel on a terminal trace answers 202 and rewrites it to canceled"),
    FaultSpec(METRICS_MISSING, "the gateway exports no traces_status_get_total / chat_requests_total"),
    FaultSpec(METRICS_TRACE_LABEL, "request metrics label raw paths, so trace ids become label values"),
    FaultSpec(METRICS_DOUBLE, "traces_status_get_total counts every status read twice"),
    FaultSpec(PII_RAW, "audit snippets keep e-mail addresses, phone numbers and long numbers raw"),
    FaultSpec(TOKEN_IN_AUDIT, "audit lines carry the caller's Authorization header"),
    FaultSpec(NO_BACKPRESSURE, "the explainer's backpressure controller is off (no level, no actions, no shed)"),
    FaultSpec(SLOW_STAGE, "the attribution stage takes param seconds more (breaks the SLO)", 3.0),
    FaultSpec(CHAOS_IGNORED, "the explainer ignores the chaos control file"),
    FaultSpec(CHAOS_NEVER_RECOVERS, "once fail-attribution was on, the explainer keeps failing after it is off"),
    FaultSpec(PATH_OUTSIDE_V1, "the OpenAPI file gains a /v2 path", artifact=True),
    FaultSpec(CHART_MISSING_KIND, "the chart renders no PodDisruptionBudget", artifact=True),
    FaultSpec(KEDA_DRIFT, "the ArgoCD inline values set another KEDA maxReplicaCount than values.yaml",
              artifact=True),
    FaultSpec(REPLICA_BOUNDS_TOO_SMALL, "the chart's and ArgoCD's KEDA bounds shrink to 1..2 replicas",
              artifact=True),
]}


class UnknownFault(ValueError):
    pass


def parse_param(text: str | None) -> Any:
    """``--fault slow-stage=5`` → 5.0; a word stays a string; nothing → None."""
    if text in (None, ""):
        return None
    try:
        return float(text)
    except ValueError:
        return text


class FaultBoard:
    """The active faults, shared across the sandbox's processes through one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._active: dict[str, Any] = {}

    # ---------------------------------------------------------------- readers (every process)
    def snapshot(self) -> dict[str, Any]:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_ino)
        except FileNotFoundError:
            return {}
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._active = dict(json.loads(self.path.read_text() or "{}"))
                except (OSError, ValueError):
                    return dict(self._active)
                self._stamp = stamp
            return dict(self._active)

    def active(self, name: str) -> bool:
        return name in self.snapshot()

    def param(self, name: str, default: Any = None) -> Any:
        value = self.snapshot().get(name)
        return default if value is None else value

    # ---------------------------------------------------------------- writer (the control server)
    def write(self, active: dict[str, Any]) -> None:
        for name in active:
            if name not in CATALOG:
                raise UnknownFault(f"unknown fault {name!r}: choose one of {', '.join(sorted(CATALOG))}")
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(active, sort_keys=True))
        os.replace(tmp, self.path)
