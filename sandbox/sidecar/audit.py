"""Audit log writer (contract §10): one compact JSON object per line, appended with a single
``write`` so the gateway's and the explainer's lines never interleave."""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
from typing import Any

AUTH_KEYS = {"authorization", "proxy-authorization"}


def _ts(seconds_precision: bool) -> str:
    now = dt.datetime.now(dt.UTC)
    if seconds_precision:
        now = now.replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def _small(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= 256)


class AuditLog:
    def __init__(self, path: str | None, service: str, enabled: bool = True) -> None:
        self.path = path
        self.service = service
        self.enabled = enabled

    def emit(self, event: str, *, tenant_id: str | None, trace_id: str | None, status: Any = None,
             reason: str | None = None, **extras: Any) -> None:
        if not self.enabled:
            return
        line: dict[str, Any] = {"ts": _ts(self.service == "explainer"), "service": self.service, "event": event,
                                "tenant_id": tenant_id or "anon", "trace_id": trace_id}
        fixed: dict[str, Any] = {k: extras.pop(k) for k in ("subject", "scopes", "path", "method") if k in extras}
        line.update(fixed)
        line["status"] = status
        if reason:
            line["reason"] = reason
        kept = 0
        for key, value in extras.items():
            if kept >= 8 or not _small(value):
                continue
            line[key] = value
            kept += 1
        data = (json.dumps(line, separators=(",", ":"), default=str) + "\n").encode()
        if self.path:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
                return
            except OSError:
                pass
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
