"""A real-HTTP rig for the sandbox's Salus APIs: the four aiohttp apps on loopback ports, a
``SalusDomain`` over a temp SQLite store, a bus fake that records publishes and a pki fake.

Only the collaborators owned by others (Kafka producer, certificate authority) are faked; the
domain, store and HTTP layers run exactly as in the sandbox.
"""
from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from sandbox.salus.config import SandboxConfig
from sandbox.salus.context import SandboxContext
from sandbox.salus.domain import SalusDomain
from sandbox.salus.faults import Faults
from sandbox.salus.http import build_apps
from sandbox.salus.interfaces import AttachedEnvoy
from sandbox.salus.seed import goarch, seed

TENANT = "123456"
OTHER = "654321"
PUBLIC_ZONE = "public/us_central_1"
_fresh = itertools.count(700001)


def fresh_tenant() -> str:
    """A tenant nobody else in the test session uses (the admin token may act on any tenant)."""
    return str(next(_fresh))


class FakeBus:
    """Records every publish as (topic, key, value, type_id)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str | None, Any, str | None]] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, key: str | None, value: Any, type_id: str | None = None) -> None:
        with self._lock:
            self.records.append((topic, key, value, type_id))

    def mark(self) -> int:
        return len(self.records)

    def since(self, mark: int, topic: str | None = None) -> list[tuple[str, str | None, Any, str | None]]:
        with self._lock:
            return [r for r in self.records[mark:] if topic is None or r[0] == topic]


class FakePki:
    def __init__(self) -> None:
        self.issued: list[str] = []

    def issue_client_cert(self, tenant_id: str) -> tuple[str, str, str]:
        self.issued.append(tenant_id)
        return (f"-----BEGIN CERTIFICATE-----\nCN={tenant_id}\n-----END CERTIFICATE-----\n",
                "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n",
                "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n")


def release_url_for(agent_type: str, version: str, plat: str) -> str:
    return f"http://127.0.0.1:1/releases/{agent_type.lower()}-{version}-{plat}.tar.gz"


class ApiRig:
    """Everything started; ``close()`` stops the servers and the store."""

    def __init__(self, data_dir: Path, do_seed: bool = True) -> None:
        self.bus = FakeBus()
        self.pki = FakePki()
        self.ctx = SandboxContext(config=SandboxConfig(), faults=Faults(), data_dir=data_dir,
                                  bus=self.bus, pki=self.pki)
        self.domain = SalusDomain(self.ctx)
        self.ctx.domain = self.domain
        self.changes: list[tuple[str, str]] = []
        self.domain.subscribe(lambda kind, tenant: self.changes.append((kind, tenant)))
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._runners: list[web.AppRunner] = []
        self.urls: dict[str, str] = {}
        for name, app in build_apps(self.ctx).items():
            self.urls[name] = f"http://127.0.0.1:{self._call(self._serve(app))}"
        if do_seed:
            seed(self.domain, self.ctx, release_url_for)
        self.http = httpx.Client(timeout=10)
        cfg = self.ctx.config
        self.regular = self.login(cfg.user("e2et-regular").username, api_key=_secret(cfg.user("e2et-regular").api_key))
        self.admin = self.login("e2et-admin", password=_secret(cfg.user("e2et-admin").password))
        self.other = self.login("other-regular", api_key=_secret(cfg.user("other-regular").api_key))

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _serve(self, app: web.Application) -> int:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runners.append(runner)
        return runner.addresses[0][1]

    def close(self) -> None:
        self.http.close()
        for runner in self._runners:
            self._call(runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.domain.close()

    # ------------------------------------------------------------------ HTTP helpers
    def login(self, username: str, api_key: str | None = None, password: str | None = None) -> str:
        if password is not None:
            body = {"auth": {"passwordCredentials": {"username": username, "password": password}}}
        else:
            body = {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": api_key}}}
        r = self.http.post(self.urls["identity"] + "/v2.0/tokens", json=body)
        assert r.status_code == 200, r.text
        return r.json()["access"]["token"]["id"]

    def pub(self, method: str, tenant: str, path: str, token: str | None = "regular", **kw: Any) -> httpx.Response:
        """Public API call ``/v1.0/tenant/{tenant}/{path}`` with a named token (or a raw one)."""
        return self.http.request(method, f"{self.urls['public_api']}/v1.0/tenant/{tenant}/{path}",
                                 headers=self._auth(token, kw.pop("headers", None)), **kw)

    def adm(self, method: str, path: str, token: str | None = "admin", **kw: Any) -> httpx.Response:
        return self.http.request(method, f"{self.urls['admin_api']}/{path}",
                                 headers=self._auth(token, kw.pop("headers", None)), **kw)

    def _auth(self, token: str | None, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if token is not None:
            headers["X-Auth-Token"] = {"regular": self.regular, "admin": self.admin,
                                       "other": self.other}.get(token, token)
        return headers

    def all_pages(self, path: str, tenant: str, token: str = "regular", size: int = 20,
                  params: dict[str, str] | None = None) -> list[Any]:
        out, page = [], 0
        while True:
            body = self.pub("GET", tenant, path, token, params={**(params or {}), "page": page, "size": size}).json()
            out += body["content"]
            if body["last"]:
                return out
            page += 1

    # ------------------------------------------------------------------ envoy helpers
    def attach(self, tenant: str, resource_id: str, zone: str | None = None, envoy_id: str | None = None,
               labels: dict[str, str] | None = None) -> AttachedEnvoy:
        """What the ambassador does after a successful AttachEnvoy."""
        envoy = AttachedEnvoy(envoy_id=envoy_id or f"envoy-{resource_id}", tenant_id=tenant,
                              resource_id=resource_id, zone=zone,
                              labels=labels or {"agent_discovered_os": "linux",
                                                "agent_discovered_arch": goarch()},
                              address="127.0.0.1:50000")
        self.domain.envoy_attached(envoy)
        return envoy


def _secret(value: Any) -> str:
    return value.get_secret_value()


def error_shape(body: dict[str, Any]) -> bool:
    return {"timestamp", "status", "error", "message", "path", "app", "host"} <= set(body)


def net_monitor(resource_id: str | None, zones: list[str], port: int = 80, **extra: Any) -> dict[str, Any]:
    body = {"name": "tcp check", "interval": "PT30S",
            "details": {"type": "remote", "monitoringZones": zones,
                        "plugin": {"type": "net_response", "host": "127.0.0.1", "port": port, "timeout": "PT2S"}}}
    if resource_id is not None:
        body["resourceId"] = resource_id
    body.update(extra)
    return body


def local_monitor(resource_id: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "cpu", "details": {"type": "local", "plugin": {"type": "cpu"}}}
    if resource_id is not None:
        body["resourceId"] = resource_id
    body.update(extra)
    return body


def module_rig(name: str) -> Callable[..., Iterator[ApiRig]]:
    """A module-scoped ``rig`` fixture: one seeded sandbox API stack per test module."""

    @pytest.fixture(scope="module")
    def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiRig]:
        r = ApiRig(tmp_path_factory.mktemp(name))
        try:
            yield r
        finally:
            r.close()

    return rig
