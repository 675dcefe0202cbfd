"""Shared pieces for the gRPC/TLS/process tests: fakes for the bus and the domain, a running
ambassador, stream readers, tiny auth/download servers, and deadline polling.

The fakes implement only what the ambassador calls, so a test fails loudly (AttributeError)
if the ambassador starts depending on more of the domain without the seam being agreed.
"""
from __future__ import annotations

import asyncio
import http.server
import json
import queue
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from sandbox.salus.ambassador import Ambassador
from sandbox.salus.config import SandboxConfig
from sandbox.salus.context import SandboxContext
from sandbox.salus.faults import Faults
from sandbox.salus.interfaces import AttachedEnvoy
from sandbox.salus.pki import Pki
from sandbox.salus.proto import telemetry_edge_pb2 as pb
from sandbox.salus.proto import telemetry_edge_pb2_grpc as pb_grpc
from support import waiting
from support.net import free_port  # noqa: F401  (re-exported for the tests)

TENANT = "123456"
REPO_ROOT = Path(__file__).resolve().parents[2]


def poll(predicate: Callable[[], Any], timeout: float, what: str, seen: Callable[[], Any] = lambda: "",
         step: float = 0.02) -> Any:
    """The project's deadline poll at a test-friendly interval."""
    return waiting.poll(predicate, timeout, what, seen, interval=step)


class FakeBus:
    """Collects publishes; thread-safe because the ambassador publishes from gRPC threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[tuple[str, str | None, Any, str | None]] = []

    def publish(self, topic: str, key: str | None, value: dict[str, Any] | str,
                type_id: str | None = None) -> None:
        with self._lock:
            self.records.append((topic, key, value, type_id))

    def on(self, topic: str) -> list[tuple[str, str | None, Any, str | None]]:
        with self._lock:
            return [r for r in self.records if r[0] == topic]


@dataclass
class FakeDomain:
    """Just the domain calls the ambassador makes, with state the tests set directly."""

    zones: set[tuple[str | None, str]] = field(default_factory=set)   # (tenant or None=public, name)
    installs: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    monitors: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    attached: dict[str, AttachedEnvoy] = field(default_factory=dict)
    detached: list[str] = field(default_factory=list)
    listeners: list[Callable[[str, str], None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, listener: Callable[[str, str], None]) -> None:
        self.listeners.append(listener)

    def changed(self, kind: str, tenant: str = TENANT) -> None:
        """What the real domain does after a write: tell listeners synchronously."""
        for listener in list(self.listeners):
            listener(kind, tenant)

    def zone_exists_for(self, tenant_id: str, zone: str) -> bool:
        if zone.startswith("public/"):
            return (None, zone) in self.zones
        return (tenant_id, zone) in self.zones

    def envoy_attached(self, envoy: AttachedEnvoy) -> dict[str, Any]:
        with self.lock:
            self.attached[envoy.envoy_id] = envoy
        return {"resourceId": envoy.resource_id, "labels": envoy.labels}

    def envoy_detached(self, envoy_id: str) -> None:
        with self.lock:
            self.attached.pop(envoy_id, None)
            self.detached.append(envoy_id)

    def installs_for_resource(self, tenant_id: str, resource_id: str) -> list[dict[str, Any]]:
        return list(self.installs.get((tenant_id, resource_id), []))

    def bound_monitors_for_envoy(self, envoy_id: str) -> list[dict[str, Any]]:
        with self.lock:
            envoy = self.attached.get(envoy_id)
        if envoy is None:
            return []
        return list(self.monitors.get((envoy.tenant_id, envoy.resource_id), []))

    def resource_labels(self, tenant: str, resource_id: str) -> dict[str, str]:
        with self.lock:
            for e in self.attached.values():
                if e.tenant_id == tenant and e.resource_id == resource_id:
                    return dict(e.labels)
        return {}


def install_dto(url: str, version: str = "1.13.2", exe: str = "./telegraf/telegraf") -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "labelSelector": {}, "labelSelectorMethod": "AND",
            "agentRelease": {"id": str(uuid.uuid4()), "type": "TELEGRAF", "version": version,
                             "url": url, "exe": exe, "labels": {}}}


def net_monitor(monitor_id: str, resource_id: str, address: str, interval: str = "PT1S",
                tenant: str = TENANT, remote_zone: str | None = None) -> dict[str, Any]:
    """A BoundMonitorDTO (admin view) for a net_response monitor, local unless ``remote_zone``."""
    content = json.dumps({"type": "net_response", "protocol": "tcp", "address": address, "timeout": "1s"})
    return {"monitorId": monitor_id, "monitorType": "net_response", "monitorName": monitor_id,
            "resourceId": resource_id, "interval": interval, "agentType": "TELEGRAF",
            "renderedContent": content, "tenantId": tenant,
            "selectorScope": "remote" if remote_zone else "local", "zoneName": remote_zone}


@dataclass
class AmbassadorRig:
    ambassador: Ambassador
    port: int
    ctx: SandboxContext
    bus: FakeBus
    domain: FakeDomain
    pki: Pki

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def channel(self, tenant: str | None = TENANT, pki: Pki | None = None) -> grpc.Channel:
        """mTLS channel with a client cert for ``tenant`` (None = no client certificate)."""
        issuer = pki or self.pki
        if tenant is None:
            creds = grpc.ssl_channel_credentials(root_certificates=self.pki.ca_pem.encode())
        else:
            cert, key, _ = issuer.issue_client_cert(tenant)
            creds = grpc.ssl_channel_credentials(root_certificates=self.pki.ca_pem.encode(),
                                                 private_key=key.encode(), certificate_chain=cert.encode())
        return grpc.secure_channel(self.address, creds)


def start_ambassador(tmp: Path) -> AmbassadorRig:
    pki = Pki(tmp / "pki")
    bus, domain = FakeBus(), FakeDomain()
    ctx = SandboxContext(config=SandboxConfig(), faults=Faults(), data_dir=tmp, bus=bus,
                         domain=domain, pki=pki)  # type: ignore[arg-type]
    ctx.extra["ambassador_server_cert"] = pki.server_cert(["127.0.0.1", "localhost"])
    amb = Ambassador(ctx)
    port = amb.start("127.0.0.1", 0)
    return AmbassadorRig(amb, port, ctx, bus, domain, pki)


class StreamReader:
    """Drains an AttachEnvoy stream on a thread so tests can wait for instructions by deadline."""

    def __init__(self, stub: pb_grpc.TelemetryAmbassadorStub, summary: pb.EnvoySummary,
                 envoy_id: str | None = None) -> None:
        self.envoy_id = envoy_id or str(uuid.uuid1())
        self.items: queue.Queue[pb.EnvoyInstruction] = queue.Queue()
        self.seen: list[pb.EnvoyInstruction] = []
        self.error: grpc.RpcError | None = None
        self.done = threading.Event()
        self.stream = stub.AttachEnvoy(summary, metadata=[("x-envoy-id", self.envoy_id)])
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        try:
            for item in self.stream:
                self.seen.append(item)
                self.items.put(item)
        except grpc.RpcError as e:
            self.error = e
        finally:
            self.done.set()

    def next(self, timeout: float = 5.0) -> pb.EnvoyInstruction:
        try:
            return self.items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no instruction within {timeout}s (error={self.error})") from None

    def next_of(self, kind: str, timeout: float = 5.0) -> pb.EnvoyInstruction:
        """The next instruction of ``kind`` (others before it are consumed)."""
        def arrived() -> pb.EnvoyInstruction | None:
            try:
                item = self.items.get(timeout=0.05)
            except queue.Empty:
                return None
            return item if item.WhichOneof("details") == kind else None
        return poll(arrived, timeout, f"a {kind} instruction",
                    lambda: f"seen: {[i.WhichOneof('details') for i in self.seen]} (error={self.error})", step=0)

    def failure(self, timeout: float = 5.0) -> grpc.RpcError:
        assert self.done.wait(timeout), "stream did not end"
        assert self.error is not None, f"stream ended without error; got {self.seen}"
        return self.error

    def cancel(self) -> None:
        self.stream.cancel()


def summary(resource_id: str = "r-1", zone: str = "", **labels: str) -> pb.EnvoySummary:
    return pb.EnvoySummary(version="test", supportedAgents=[pb.TELEGRAF], resourceId=resource_id, zone=zone,
                           labels={"discovered_os": "linux", "discovered_arch": "amd64", **labels})


class HttpServerThread:
    """A stdlib HTTP server on a loopback port, served from a thread."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def auth_service(pki: Pki) -> HttpServerThread:
    """Dev-token auth service (contract §5.3): the bearer value is the tenant id."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            if self.path != "/v1.0/cert" or not auth.startswith("Bearer ") or not auth[7:]:
                self.send_error(401)
                return
            cert, key, ca = pki.issue_client_cert(auth[7:])
            body = json.dumps({"certificate": cert, "privateKey": key, "issuingCaCertificate": ca}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return HttpServerThread(Handler)


class AiohttpThread:
    """Runs one aiohttp application on its own loop thread (how the sandbox hosts downloads)."""

    def __init__(self, app: Any) -> None:
        from aiohttp import web
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

        async def start() -> tuple[Any, int]:
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            return runner, runner.addresses[0][1]

        self.runner, port = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.url = f"http://127.0.0.1:{port}"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


def iter_lines(sock: socket.socket) -> Iterator[bytes]:
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line
