"""Follow a trace's event stream (``text/event-stream``) until it ends or a deadline passes.

Parsed with ``httpx-sse``; the stream sends no keep-alives (contract §2.6), so the read timeout is
the whole deadline, not a per-frame one."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import connect_sse

from ..errors import InfrastructureError


@dataclass
class StreamResult:
    status: int
    events: list[tuple[str, Any]] = field(default_factory=list)
    ended: bool = False
    timed_out: bool = False

    def names(self) -> list[str]:
        return [e for e, _ in self.events]

    def describe(self) -> str:
        return f"HTTP {self.status}, events {self.names()}" + (" (deadline reached)" if self.timed_out else "")


def follow(base_url: str, trace_id: str, headers: dict[str, str], timeout: float) -> StreamResult:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(10.0, read=timeout)) as http:
        try:
            with connect_sse(http, "GET", f"/v1/traces/{trace_id}/stream", headers=headers) as source:
                result = StreamResult(source.response.status_code)
                if source.response.status_code != 200:
                    source.response.read()
                    return result
                try:
                    for ev in source.iter_sse():
                        try:
                            data: Any = json.loads(ev.data) if ev.data else None
                        except ValueError:
                            data = ev.data
                        result.events.append((ev.event or "message", data))
                        if ev.event in ("complete", "error") or time.monotonic() > deadline:
                            break
                    result.ended = True
                except httpx.ReadTimeout:
                    result.timed_out = True
                return result
        except httpx.TransportError as e:
            if isinstance(e, httpx.ReadTimeout):
                return StreamResult(0, timed_out=True)
            raise InfrastructureError(f"trace stream of {trace_id} failed ({type(e).__name__}): is the gateway up "
                                      "(sidecar.base_url)?") from None
