"""The envoy stand-in's link to the ambassador: certificate, attach stream, keep-alive, metrics.

Mirrors the real envoy (contract §5.3–5.4): a certificate from the auth service (or provided
files), mTLS to the ambassador, ``x-envoy-id`` = a fresh UUIDv1 per attach attempt, attached only
after ``ready``, reconnect with back-off when the stream breaks.
"""
from __future__ import annotations

import json
import logging
import platform
import socket
import socketserver
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import grpc

from support.durations import seconds_or

from ..proto import telemetry_edge_pb2 as pb
from ..proto import telemetry_edge_pb2_grpc as pb_grpc
from .agents import TelegrafRunner, install_agent

log = logging.getLogger("envoy")
VERSION = "0.17.0-e2et"


def discovered_labels() -> dict[str, str]:
    """What the Go envoy discovers, in Go's GOOS/GOARCH naming (selectors are written against it)."""
    m = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
            "i386": "386", "i686": "386"}.get(m, m)
    os_ = {"linux": "linux", "darwin": "darwin", "windows": "windows"}.get(platform.system().lower(), "linux")
    return {"discovered_os": os_, "discovered_arch": arch, "discovered_hostname": socket.gethostname()}


def fetch_certificate(cfg: dict[str, Any]) -> tuple[bytes, bytes, bytes]:
    tls = cfg.get("tls") or {}
    provided = tls.get("provided")
    if provided:
        return tuple(Path(provided[k]).read_bytes() for k in ("cert", "key", "ca"))  # type: ignore[return-value]
    url = (tls.get("auth_service") or {}).get("url")
    if not url:
        raise SystemExit("envoy: config needs tls.auth_service.url or tls.provided.{cert,key,ca}")
    req = urllib.request.Request(url.rstrip("/") + "/v1.0/cert",
                                 headers={"Authorization": f"Bearer {cfg.get('auth_token', '')}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = json.loads(resp.read())
    return body["certificate"].encode(), body["privateKey"].encode(), body["issuingCaCertificate"].encode()


class Envoy:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.stop_event = threading.Event()
        self.data_path = Path(cfg.get("agents", {}).get("dataPath", "/var/lib/telemetry-envoy"))
        self.ingest_bind = cfg.get("ingest", {}).get("telegraf", {}).get("json", {}).get("bind", "localhost:8094")
        agents_cfg = cfg.get("agents") or {}
        self.runner = TelegrafRunner(self.data_path, self.ingest_bind,
                                     seconds_or(agents_cfg.get("terminationTimeout"), 5.0),
                                     seconds_or(agents_cfg.get("restartDelay"), 1.0),
                                     seconds_or(agents_cfg.get("defaultMonitoringInterval"), 60.0),
                                     seconds_or(agents_cfg.get("maxFlushInterval"), 60.0))
        self.envoy_id = ""
        self.stub: pb_grpc.TelemetryAmbassadorStub | None = None
        self.attached = threading.Event()
        self._ingest: socketserver.ThreadingTCPServer | None = None
        self._current_stream: Any = None

    # ----------------------------------------------------------------- main loop
    def run(self) -> int:
        self._start_ingest()
        backoff = 0.5
        try:
            while not self.stop_event.is_set():
                try:
                    self._attach_once()
                    backoff = 0.5
                except grpc.RpcError as e:
                    if self.stop_event.is_set():
                        break
                    log.warning("ambassador stream ended: %s %s", e.code(), e.details())
                    if e.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAUTHENTICATED):
                        log.error("attach refused: %s", e.details())
                except OSError as e:
                    log.warning("cannot reach the auth service or ambassador: %s", e)
                except (KeyError, ValueError) as e:
                    log.warning("auth service answered without a usable certificate: %s", e)
                self.attached.clear()
                # Like the real envoy: a detach stops the agents and forgets their configs; the
                # ambassador resends everything on the next attach.
                self.runner.reset()
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 5.0)
        finally:
            self.shutdown()
        return 0

    def _attach_once(self) -> None:
        cert, key, ca = fetch_certificate(self.cfg)
        creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
        address = (self.cfg.get("ambassador") or {}).get("address", "localhost:6565")
        channel = grpc.secure_channel(address, creds)
        self.stub = pb_grpc.TelemetryAmbassadorStub(channel)
        self.envoy_id = str(uuid.uuid1())
        labels = {**{str(k): str(v) for k, v in (self.cfg.get("labels") or {}).items()}, **discovered_labels()}
        summary = pb.EnvoySummary(version=VERSION, supportedAgents=[pb.TELEGRAF], labels=labels,
                                  resourceId=str(self.cfg["resource_id"]), zone=str(self.cfg.get("zone") or ""))
        stream = self.stub.AttachEnvoy(summary, metadata=[("x-envoy-id", self.envoy_id)])
        self._current_stream = stream
        if self.stop_event.is_set():
            # SIGTERM landed between the loop's check and this stream: request_stop() could not
            # see it, so cancel here or the stream would wait for the ambassador forever.
            stream.cancel()
        try:
            for instruction in stream:
                self._handle(instruction)
                if self.stop_event.is_set():
                    break
        finally:
            stream.cancel()
            channel.close()

    def _handle(self, ins: pb.EnvoyInstruction) -> None:
        which = ins.WhichOneof("details")
        if which == "ready":
            log.info("attached as envoy %s (resource %s)", self.envoy_id, self.cfg["resource_id"])
            self.attached.set()
            threading.Thread(target=self._keepalive, args=(self.envoy_id,), daemon=True,
                             name="keepalive").start()
        elif which == "install":
            i = ins.install
            agent_type = pb.AgentType.Name(i.agent.type)
            try:
                install_agent(self.data_path, agent_type, i.agent.version, i.url, i.exe)
            except Exception as e:  # noqa: BLE001 — a failed install is logged, the envoy stays attached
                log.error("install of %s %s failed: %s", agent_type, i.agent.version, e)
                return
            if agent_type == "TELEGRAF":
                self.runner.installed()
        elif which == "refresh":
            log.debug("refresh from the ambassador")
        elif which == "configure":
            ops = [{"id": op.id, "type": pb.ConfigurationOp.Type.Name(op.type), "content": op.content,
                    "extraLabels": dict(op.extraLabels), "interval": op.interval}
                   for op in ins.configure.operations]
            log.info("configure: %s", ", ".join(f"{o['type']} {o['id']}" for o in ops))
            self.runner.apply(ops)

    def _keepalive(self, envoy_id: str) -> None:
        """KeepAlive every ``ambassador.keepAliveInterval``; a refusal (e.g. INVALID_ARGUMENT for an
        id the ambassador forgot) breaks the stream so the main loop re-attaches with a new id."""
        interval = seconds_or((self.cfg.get("ambassador") or {}).get("keepAliveInterval"), 45.0)
        stub = self.stub
        while not self.stop_event.wait(interval) and self.envoy_id == envoy_id and self.attached.is_set():
            try:
                stub.KeepAlive(pb.KeepAliveRequest(), metadata=[("x-envoy-id", envoy_id)], timeout=5)
            except grpc.RpcError as e:
                log.warning("keep-alive refused (%s); re-attaching", e.code())
                stream = self._current_stream
                if stream is not None and self.envoy_id == envoy_id:
                    stream.cancel()
                return

    # ----------------------------------------------------------------- ingest
    def _start_ingest(self) -> None:
        envoy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for line in self.rfile:
                    envoy.post_line(line)

        host, _, port = self.ingest_bind.rpartition(":")
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._ingest = socketserver.ThreadingTCPServer((host or "127.0.0.1", int(port)), Handler)
        self._ingest.daemon_threads = True
        # like the real envoy (config.RegisterListenerAddress): telegraf dials the address actually
        # bound — so port 0 works, and 0.0.0.0 means loopback for the agent
        bound_host, bound_port = self._ingest.server_address[:2]
        self.ingest_bind = f"{'127.0.0.1' if bound_host == '0.0.0.0' else bound_host}:{bound_port}"
        self.runner.listen_at(self.ingest_bind)
        threading.Thread(target=self._ingest.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="ingest").start()

    def post_line(self, line: bytes) -> None:
        """telegraf JSON → PostedMetric: numbers become fvalues, strings svalues, booleans dropped."""
        if not self.attached.is_set() or self.stub is None:
            return
        try:
            m = json.loads(line)
        except ValueError:
            return
        fvalues, svalues = {}, {}
        for k, v in (m.get("fields") or {}).items():
            if isinstance(v, bool):
                continue
            if isinstance(v, (int, float)):
                fvalues[k] = float(v)
            elif isinstance(v, str):
                svalues[k] = v
        metric = pb.NameTagValueMetric(name=m.get("name", ""), timestamp=int(m.get("timestamp") or time.time() * 1000),
                                       tags={str(k): str(v) for k, v in (m.get("tags") or {}).items()},
                                       fvalues=fvalues, svalues=svalues)
        try:
            self.stub.PostMetric(pb.PostedMetric(metric=pb.Metric(nameTagValue=metric)),
                                 metadata=[("x-envoy-id", self.envoy_id)], timeout=5)
        except grpc.RpcError as e:
            log.warning("posting a metric failed: %s", e.code())

    # ----------------------------------------------------------------- stop
    def request_stop(self) -> None:
        self.stop_event.set()
        stream = self._current_stream
        if stream is not None:
            stream.cancel()

    def shutdown(self) -> None:
        """Stop agents (terminate, then kill after terminationTimeout) so no child outlives us."""
        log.info("stopping: terminating agents")
        self.runner.stop()
        if self._ingest is not None:
            self._ingest.shutdown()
            self._ingest.server_close()
