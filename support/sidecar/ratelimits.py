"""Provoke a tenant's read limit on purpose: concurrent status reads until the bucket refuses (at
most a few bursts' worth), then one read by the other tenant while the first one's bucket is empty."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx

from .settings import SidecarSettings


@dataclass
class Burst:
    sent: int = 0
    rejected: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    bad_rejections: list[str] = field(default_factory=list)
    other_status: int | None = None

    def describe(self) -> str:
        return f"{self.sent} reads sent, statuses {self.statuses}"


async def _burst(s: SidecarSettings, own: dict[str, str], other: dict[str, str], n: int, timeout: float) -> Burst:
    out = Burst()
    path = "/v1/traces/trc_e2et_ratelimit_probe/status"
    async with httpx.AsyncClient(base_url=s.base_url, timeout=timeout,
                                 limits=httpx.Limits(max_connections=50)) as http:
        async def one() -> None:
            r = await http.get(path, headers=own)
            out.sent += 1
            out.statuses[r.status_code] = out.statuses.get(r.status_code, 0) + 1
            if r.status_code == 429:
                out.rejected += 1
                try:
                    body = r.json()
                    code = (body.get("detail") or body).get("code") if isinstance(body, dict) else None
                except ValueError:
                    code = None
                retry = r.headers.get("Retry-After") or ""
                if code != "rate_limited" or not retry.isdigit() or int(retry) < 1:
                    out.bad_rejections.append(f"code={code!r} Retry-After={retry!r}")

        # waves until the bucket says no (the refill during the burst depends on this machine's speed),
        # then the other tenant's read while tenant A's bucket is empty
        cap = 3 * n + 100
        while out.rejected == 0 and out.sent < cap:
            await asyncio.gather(*(one() for _ in range(min(n, 50))))
        other_r = asyncio.ensure_future(http.get(path, headers=other))
        await asyncio.gather(other_r, *(one() for _ in range(20)))
        out.other_status = other_r.result().status_code
    return out


def burst_reads(s: SidecarSettings, own: dict[str, str], other: dict[str, str], n: int,
                timeout: float = 10.0) -> Burst:
    return asyncio.run(_burst(s, own, other, n, timeout))
