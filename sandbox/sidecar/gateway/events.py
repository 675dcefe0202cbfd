"""Status changes → SSE subscribers and webhooks.

The explainer publishes every status change on a Redis channel; one subscriber task in the
gateway fans them out to open streams and, on ``complete``/``failed``, POSTs the registered
webhooks (contract §2.6, §2.7). Webhooks go only to loopback hosts: the stand-in never calls out.
"""
from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import secrets
from collections import defaultdict
from typing import Any
from urllib.parse import urlparse

import aiohttp

from ..faults import WEBHOOK_NEVER_SENT, FaultBoard
from ..store import public_status

log = logging.getLogger("sandbox.sidecar.gateway.events")
CHANNEL = "hypergraph:status"
WEBHOOK_EVENTS = ("complete", "failed")


def loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EventHub:
    def __init__(self, redis: Any, faults: FaultBoard) -> None:
        self.redis = redis
        self.faults = faults
        self._streams: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._hooks: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._delivered: set[tuple[str, str]] = set()
        self._task: asyncio.Task | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        self._task = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        if self._http:
            await self._http.close()

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(CHANNEL)
                async for msg in pubsub.listen():
                    if msg.get("type") == "message":
                        await self.publish_local(json.loads(msg["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 — a dropped subscription is re-made
                log.warning("status subscription lost (%s); re-subscribing", e)
                await asyncio.sleep(0.2)

    async def publish(self, item: dict[str, Any]) -> None:
        """A change made by the gateway itself (cancel) goes through Redis like the explainer's."""
        await self.redis.publish(CHANNEL, json.dumps(item))

    async def publish_local(self, item: dict[str, Any]) -> None:
        trace_id = item.get("trace_id", "")
        for q in list(self._streams.get(trace_id, ())):
            q.put_nowait(item)
        if item.get("state") in WEBHOOK_EVENTS:
            await self._deliver(trace_id, item)

    # ---------------------------------------------------------------- SSE
    def subscribe(self, trace_id: str) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue()
        self._streams[trace_id].add(q)
        return q

    def unsubscribe(self, trace_id: str, q: asyncio.Queue) -> None:
        subs = self._streams.get(trace_id)
        if subs is not None:
            subs.discard(q)
            if not subs:
                self._streams.pop(trace_id, None)

    # ---------------------------------------------------------------- webhooks
    async def register(self, trace_id: str, url: str, events: list[str] | None, has_secret: bool,
                       current: dict[str, Any]) -> dict[str, Any]:
        reg = {"id": secrets.token_hex(4), "trace_id": trace_id, "url": url,
               "events": [e for e in (events or WEBHOOK_EVENTS)], "has_secret": has_secret}
        self._hooks[trace_id].append(reg)
        if current.get("state") in WEBHOOK_EVENTS:
            # stand-in convention: a hook registered after the end still hears about it
            await self._deliver(trace_id, current)
        return reg

    async def _deliver(self, trace_id: str, item: dict[str, Any]) -> None:
        event = item["state"]
        for reg in list(self._hooks.get(trace_id, ())):
            if event not in reg["events"] or (reg["id"], event) in self._delivered:
                continue
            self._delivered.add((reg["id"], event))
            if self.faults.active(WEBHOOK_NEVER_SENT):
                continue
            if not loopback(reg["url"]):
                log.warning("webhook %s not delivered: the stand-in posts only to loopback hosts", reg["id"])
                continue
            asyncio.create_task(self._post(reg, {"event": event, "trace_id": trace_id,
                                                 "status": public_status(item)}))

    async def _post(self, reg: dict[str, Any], body: dict[str, Any]) -> None:
        assert self._http is not None
        for attempt in range(3):
            try:
                async with self._http.post(reg["url"], json=body) as resp:
                    log.info("webhook %s → %s answered %s", reg["id"], reg["url"], resp.status)
                    return
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                log.warning("webhook %s attempt %d failed: %s", reg["id"], attempt + 1, e)
                await asyncio.sleep(0.2 * (attempt + 1))
