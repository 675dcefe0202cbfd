"""The ambassador: the real ``TelemetryAmbassador`` gRPC service over mutual TLS (contract §5.4–5.6).

Tenant = client-certificate CN; each attach is one server stream. The session sends ``ready``,
the ``AttachEvent`` goes to Kafka, then installs and monitor configuration are pushed whenever
the domain reports a change (the real system's Kafka hop from ACM/MM to the ambassador).
Metrics posted by envoys become UMF JSON on ``telemetry.metrics.json``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc

from . import faults as F
from . import topics
from .context import SandboxContext
from .domain import duration_seconds
from .domain.resources import RESOURCE_ID_RE
from .interfaces import AttachedEnvoy
from .proto import telemetry_edge_pb2 as pb
from .proto import telemetry_edge_pb2_grpc as pb_grpc

log = logging.getLogger("sandbox.ambassador")
SYSTEM_METADATA_KEYS = ("resource_id", "monitor_id", "monitor_type", "monitor_selector_scope",
                        "monitoring_zone_id", "envoy_id")
_STOP = object()


@dataclass
class Session:
    envoy: AttachedEnvoy
    outbox: queue.Queue[Any] = field(default_factory=queue.Queue)
    ready: bool = False
    installs_sent: dict[str, str] = field(default_factory=dict)      # TYPE -> version
    ops_sent: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # op id -> (type, content, interval)
    lock: threading.Lock = field(default_factory=threading.Lock)
    detached: bool = False


def _rfc3339(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Ambassador(pb_grpc.TelemetryAmbassadorServicer):
    """One per sandbox; thread-safe (gRPC handler threads plus domain-change callbacks)."""

    #: a ``refresh`` goes to every envoy at this period, whatever else was sent (real ``envoyRefreshInterval``: 45 s)
    refresh_interval: float = 45.0

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        ctx.domain.subscribe(self._on_change)

    # ----------------------------------------------------------------- lifecycle
    def start(self, host: str, port: int) -> int:
        """Serve on ``host:port`` (0 = any free port) and return the bound port. Each attached
        envoy holds one pool thread for its stream, hence the generous pool."""
        cert, key = (self.ctx.extra.get("ambassador_server_cert")
                     or self.ctx.pki.server_cert([host, "127.0.0.1", "localhost"]))
        creds = grpc.ssl_server_credentials([(key.encode(), cert.encode())],
                                            root_certificates=self.ctx.pki.ca_pem.encode(),
                                            require_client_auth=True)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="amb"))
        pb_grpc.add_TelemetryAmbassadorServicer_to_server(self, self._server)
        bound = self._server.add_secure_port(f"{host}:{port}", creds)
        self._server.start()
        log.info("ambassador listening on %s:%s (mTLS)", host, bound)
        return bound

    def stop(self, grace: float = 0.5) -> None:
        """End every stream (envoys see the stream close and re-attach elsewhere), then the server."""
        with self._lock:
            sessions = list(self.sessions.values())
        for s in sessions:
            s.outbox.put(_STOP)
        if self._server is not None:
            self._server.stop(grace).wait(grace + 2)

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _tenant(context: grpc.ServicerContext) -> str:
        cn = context.auth_context().get("x509_common_name") or []
        if not cn:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "client certificate required")
        return cn[0].decode()

    @staticmethod
    def _envoy_id(context: grpc.ServicerContext) -> str:
        for k, v in context.invocation_metadata():
            if k == "x-envoy-id":
                return v
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "missing x-envoy-id metadata")
        return ""

    # ----------------------------------------------------------------- RPCs
    def AttachEnvoy(self, request: pb.EnvoySummary, context: grpc.ServicerContext) -> Iterator[pb.EnvoyInstruction]:
        tenant = self._tenant(context)
        envoy_id = self._envoy_id(context)
        if not RESOURCE_ID_RE.match(request.resourceId or ""):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "resourceId is invalid")
        zone = request.zone or None
        if zone:
            if zone.startswith("public/") and tenant != self.ctx.config.public_zone_tenant:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              "Provided zone is not accessible to this tenant")
            if not self.ctx.domain.zone_exists_for(tenant, zone):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Provided zone does not exist")
        envoy = AttachedEnvoy(
            envoy_id=envoy_id, tenant_id=tenant, resource_id=request.resourceId, zone=zone,
            labels={f"agent_{k}": v for k, v in request.labels.items()},
            address=context.peer().split(":", 1)[-1], version=request.version,
            supported_agents=[pb.AgentType.Name(a) for a in request.supportedAgents])
        session = Session(envoy)
        with self._lock:
            self.sessions[envoy_id] = session
        # A cancelled stream may never resume the generator, so the detach must also hang off
        # the RPC's termination callback; ``_detach`` makes the two paths idempotent.
        context.add_callback(lambda: self._detach(session))
        try:
            self.ctx.domain.envoy_attached(envoy)
            log.info("envoy %s attached: tenant=%s resource=%s zone=%s", envoy_id, tenant, envoy.resource_id, zone)
            yield pb.EnvoyInstruction(ready=pb.EnvoyInstructionReady())
            session.ready = True
            if not self.ctx.faults.active(F.ATTACH_EVENTS_DROPPED):
                self.ctx.bus.publish(topics.ATTACHES, f"{tenant}:{envoy.resource_id}",
                                     {"resourceId": envoy.resource_id, "labels": envoy.labels, "envoyId": envoy_id,
                                      "tenantId": tenant, "envoyAddress": envoy.address.rsplit(":", 1)[0]},
                                     topics.TYPE_IDS["AttachEvent"])
            self._reconcile(session)
            next_refresh = time.monotonic() + self.refresh_interval
            while context.is_active():
                if time.monotonic() >= next_refresh:
                    next_refresh += self.refresh_interval
                    yield pb.EnvoyInstruction(refresh=pb.EnvoyInstructionRefresh())
                try:
                    item = session.outbox.get(timeout=min(0.5, max(0.01, next_refresh - time.monotonic())))
                except queue.Empty:
                    continue
                if item is _STOP:
                    break
                yield item
        finally:
            self._detach(session)

    def _detach(self, session: Session) -> None:
        """Forget the session once, however the stream ended (client cancel, server stop, error)."""
        envoy_id = session.envoy.envoy_id
        with self._lock:
            if session.detached:
                return
            session.detached = True
            if self.sessions.get(envoy_id) is session:
                del self.sessions[envoy_id]
        session.outbox.put(_STOP)
        self.ctx.domain.envoy_detached(envoy_id)
        log.info("envoy %s detached (tenant=%s resource=%s)", envoy_id, session.envoy.tenant_id,
                 session.envoy.resource_id)

    def _session(self, context: grpc.ServicerContext) -> Session:
        """The caller's attached session; unknown id (or another tenant's) → INVALID_ARGUMENT,
        which makes the real envoy re-attach."""
        tenant = self._tenant(context)
        envoy_id = self._envoy_id(context)
        with self._lock:
            session = self.sessions.get(envoy_id)
        if session is None or session.envoy.tenant_id != tenant:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"envoy {envoy_id} is not attached")
        return session

    def KeepAlive(self, request: pb.KeepAliveRequest, context: grpc.ServicerContext) -> pb.KeepAliveResponse:
        self._session(context)
        return pb.KeepAliveResponse()

    def PostLogEvent(self, request: pb.LogEvent, context: grpc.ServicerContext) -> pb.PostLogEventResponse:
        self._tenant(context)
        return pb.PostLogEventResponse()

    def PostTestMonitorResults(self, request: pb.TestMonitorResults,
                               context: grpc.ServicerContext) -> pb.PostTestMonitorResultsResponse:
        """Accepted and ignored: the sandbox has no test-monitor round trip yet."""
        self._tenant(context)
        return pb.PostTestMonitorResultsResponse()

    def PostMetric(self, request: pb.PostedMetric, context: grpc.ServicerContext) -> pb.PostMetricResponse:
        session = self._session(context)
        umf = self._umf(session.envoy, request.metric.nameTagValue)
        key = topics.metric_key(umf["tenantId"], umf["systemMetadata"].get("resource_id", ""),
                                request.metric.nameTagValue.name)
        self.ctx.bus.publish(topics.METRICS, key, json.dumps(umf, separators=(",", ":")))
        return pb.PostMetricResponse()

    def _umf(self, envoy: AttachedEnvoy, m: pb.NameTagValueMetric) -> dict[str, Any]:
        """UMF JSON as the ambassador's MetricRouter builds it (contract §4.3)."""
        tags = dict(m.tags)
        tenant = tags.pop("target_tenant", None) or envoy.tenant_id
        system = {k: tags.pop(k) for k in SYSTEM_METADATA_KEYS if k in tags}
        system.setdefault("resource_id", envoy.resource_id)
        system["envoy_id"] = envoy.envoy_id
        ts = _rfc3339(m.timestamp)
        metrics = [{"timestamp": ts, "group": m.name, "name": k, "metadata": tags, "float": v}
                   for k, v in m.fvalues.items()]
        metrics += [{"timestamp": ts, "group": m.name, "name": k, "metadata": tags, "int": str(v)}
                    for k, v in m.ivalues.items()]
        metrics += [{"timestamp": ts, "group": m.name, "name": k, "metadata": tags, "string": v}
                    for k, v in m.svalues.items()]
        return {"tenantId": tenant, "accountType": "UNKNOWN", "device": "",
                "deviceMetadata": self.ctx.domain.resource_labels(tenant, system["resource_id"]),
                "monitoringSystem": "SALUS", "systemMetadata": system, "metrics": metrics}

    # ----------------------------------------------------------------- pushing instructions
    def _on_change(self, kind: str, tenant: str) -> None:
        if kind not in ("installs", "monitors", "resources", "zones"):
            return
        with self._lock:
            sessions = list(self.sessions.values())
        for s in sessions:
            self._reconcile(s)

    def _reconcile(self, session: Session) -> None:
        if not session.ready:
            return
        with session.lock:
            self._send_installs(session)
            self._send_configure(session)

    def _send_installs(self, session: Session) -> None:
        if self.ctx.faults.active(F.INSTALLS_WITHHELD):
            return
        envoy = session.envoy
        for inst in self.ctx.domain.installs_for_resource(envoy.tenant_id, envoy.resource_id):
            rel = inst["agentRelease"]
            version = rel["version"]
            if self.ctx.faults.active(F.INSTALL_WRONG_PATH):
                version = f"{version}-wrong"
            if session.installs_sent.get(rel["type"]) == version:
                continue
            session.installs_sent[rel["type"]] = version
            envoy.installed_agents[rel["type"]] = version
            session.outbox.put(pb.EnvoyInstruction(install=pb.EnvoyInstructionInstall(
                agent=pb.Agent(type=pb.AgentType.Value(rel["type"]), version=version),
                url=rel["url"], exe=rel["exe"])))
            log.info("install %s %s → envoy %s", rel["type"], version, envoy.envoy_id)

    def _send_configure(self, session: Session) -> None:
        """Configure ops for the monitors bound to this envoy — only for agent types it has
        installed (the ambassador sends MM the envoy's ``installedAgentVersions`` and MM binds
        nothing else): an envoy without telegraf never gets TELEGRAF configuration."""
        envoy = session.envoy
        installed = set(session.installs_sent)
        wanted: dict[str, tuple[str, str, int, dict[str, str]]] = {}
        for b in self.ctx.domain.bound_monitors_for_envoy(envoy.envoy_id):
            agent_type = b.get("agentType") or "TELEGRAF"
            if agent_type not in installed:
                continue
            labels = {"monitor_id": b["monitorId"], "monitor_type": b["monitorType"] or "",
                      "monitor_selector_scope": b["selectorScope"]}
            if b["selectorScope"] == "remote":
                labels.update(target_tenant=b["tenantId"], resource_id=b["resourceId"],
                              monitoring_zone_id=b.get("zoneName") or "")
            op_id = f"{b['tenantId']}_{b['monitorId']}_{b['resourceId']}"
            wanted[op_id] = (agent_type, b["renderedContent"], duration_seconds(b["interval"], "interval"), labels)
        ops: dict[str, list[pb.ConfigurationOp]] = {}
        for op_id, (agent_type, content, interval, labels) in wanted.items():
            prev = session.ops_sent.get(op_id)
            if prev == (agent_type, content, interval):
                continue
            kind = pb.ConfigurationOp.CREATE if prev is None else pb.ConfigurationOp.MODIFY
            ops.setdefault(agent_type, []).append(pb.ConfigurationOp(
                id=op_id, type=kind, content=content, extraLabels=labels, interval=interval))
            session.ops_sent[op_id] = (agent_type, content, interval)
        for op_id in [o for o in session.ops_sent if o not in wanted]:
            agent_type = session.ops_sent.pop(op_id)[0]
            ops.setdefault(agent_type, []).append(pb.ConfigurationOp(id=op_id, type=pb.ConfigurationOp.REMOVE))
        for agent_type, type_ops in ops.items():
            session.outbox.put(pb.EnvoyInstruction(configure=pb.EnvoyInstructionConfigure(
                agentType=pb.AgentType.Value(agent_type), operations=type_ops)))
            log.info("configure %d %s ops → envoy %s", len(type_ops), agent_type, envoy.envoy_id)
