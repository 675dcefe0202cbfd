"""The ambassador over real mutual TLS: tenant from the client cert, attach validation, the
ready → AttachEvent → install → configure sequence, metrics → UMF, and its three faults."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from sandbox.salus import faults as F
from sandbox.salus import topics
from sandbox.salus.pki import Pki
from sandbox.salus.proto import telemetry_edge_pb2 as pb
from sandbox.salus.proto import telemetry_edge_pb2_grpc as pb_grpc

try:  # works whether or not tests/sandbox is a package
    from .edge_support import (
        TENANT,
        AmbassadorRig,
        StreamReader,
        install_dto,
        net_monitor,
        poll,
        start_ambassador,
        summary,
    )
except ImportError:
    from edge_support import (
        TENANT,
        AmbassadorRig,
        StreamReader,
        install_dto,
        net_monitor,
        poll,
        start_ambassador,  # type: ignore[no-redef]
        summary,
    )

RELEASE_URL = "http://127.0.0.1:9/releases/telegraf-1.13.2-linux-amd64.tar.gz"


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[AmbassadorRig]:
    r = start_ambassador(tmp_path)
    r.domain.zones.add((TENANT, "private_zone_1"))
    r.domain.zones.add((None, "public/us_central_1"))
    yield r
    r.ambassador.stop(0.2)


@pytest.fixture
def stub(rig: AmbassadorRig) -> Iterator[pb_grpc.TelemetryAmbassadorStub]:
    channel = rig.channel(TENANT)
    yield pb_grpc.TelemetryAmbassadorStub(channel)
    channel.close()


def attach(stub: pb_grpc.TelemetryAmbassadorStub, resource_id: str = "r-1", zone: str = "") -> StreamReader:
    reader = StreamReader(stub, summary(resource_id, zone))
    assert reader.next().WhichOneof("details") == "ready", "the first instruction must be ready"
    return reader


# ------------------------------------------------------------------------------ TLS / identity
def test_client_cert_cn_is_the_tenant_and_attach_is_published(rig: AmbassadorRig, stub) -> None:
    reader = attach(stub, "r-1")
    rec = poll(lambda: rig.bus.on(topics.ATTACHES), 5, "AttachEvent")[0]
    _, key, value, type_id = rec
    assert key == f"{TENANT}:r-1"
    assert type_id == topics.TYPE_IDS["AttachEvent"]
    assert value == {"resourceId": "r-1", "envoyId": reader.envoy_id, "tenantId": TENANT,
                     "envoyAddress": "127.0.0.1",
                     "labels": {"agent_discovered_os": "linux", "agent_discovered_arch": "amd64"}}
    envoy = rig.domain.attached[reader.envoy_id]
    assert (envoy.tenant_id, envoy.resource_id, envoy.zone) == (TENANT, "r-1", None)
    assert envoy.supported_agents == ["TELEGRAF"]
    reader.cancel()
    poll(lambda: reader.envoy_id in rig.domain.detached, 5, "detach after the stream is cancelled")
    assert rig.domain.detached.count(reader.envoy_id) == 1


def test_no_client_certificate_fails_the_handshake(rig: AmbassadorRig) -> None:
    channel = rig.channel(None)
    reader = StreamReader(pb_grpc.TelemetryAmbassadorStub(channel), summary())
    assert reader.failure().code() == grpc.StatusCode.UNAVAILABLE
    assert not rig.domain.attached
    channel.close()


def test_certificate_from_another_ca_is_refused(rig: AmbassadorRig, tmp_path: Path) -> None:
    channel = rig.channel(TENANT, pki=Pki(tmp_path / "rogue"))
    reader = StreamReader(pb_grpc.TelemetryAmbassadorStub(channel), summary())
    assert reader.failure().code() == grpc.StatusCode.UNAVAILABLE
    channel.close()


# ------------------------------------------------------------------------------ attach validation
@pytest.mark.parametrize("resource_id, zone, message", [
    ("r-1", "no_such_zone", "Provided zone does not exist"),
    ("bad resource/id", "", "resourceId"),
    ("r-1", "public/us_central_1", "not accessible"),
])
def test_attach_refusals(rig: AmbassadorRig, stub, resource_id: str, zone: str, message: str) -> None:
    err = StreamReader(stub, summary(resource_id, zone)).failure()
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in err.details()
    assert not rig.bus.on(topics.ATTACHES) and not rig.domain.attached


def test_missing_envoy_id_metadata_is_refused(stub) -> None:
    with pytest.raises(grpc.RpcError) as e:
        next(iter(stub.AttachEnvoy(summary())))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_private_zone_and_public_zone_for_the_public_tenant(rig: AmbassadorRig, stub) -> None:
    attach(stub, "r-1", "private_zone_1")
    assert poll(lambda: rig.domain.attached, 5, "attach")
    channel = rig.channel(rig.ctx.config.public_zone_tenant)
    attach(pb_grpc.TelemetryAmbassadorStub(channel), "poller-1", "public/us_central_1")
    zones = {e.zone for e in rig.domain.attached.values()}
    assert zones == {"private_zone_1", "public/us_central_1"}
    channel.close()


def test_keepalive_known_and_unknown_envoy(stub) -> None:
    reader = attach(stub)
    stub.KeepAlive(pb.KeepAliveRequest(), metadata=[("x-envoy-id", reader.envoy_id)], timeout=5)
    with pytest.raises(grpc.RpcError) as e:
        stub.KeepAlive(pb.KeepAliveRequest(), metadata=[("x-envoy-id", str(uuid.uuid1()))], timeout=5)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_another_tenant_cannot_use_an_attached_envoy_id(rig: AmbassadorRig, stub) -> None:
    reader = attach(stub)
    other = rig.channel("654321")
    with pytest.raises(grpc.RpcError) as e:
        pb_grpc.TelemetryAmbassadorStub(other).KeepAlive(
            pb.KeepAliveRequest(), metadata=[("x-envoy-id", reader.envoy_id)], timeout=5)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    other.close()


# ------------------------------------------------------------------------------ installs / configure
def test_install_then_configure_then_diffs(rig: AmbassadorRig, stub) -> None:
    rig.domain.installs[(TENANT, "r-1")] = [install_dto(RELEASE_URL)]
    rig.domain.monitors[(TENANT, "r-1")] = [net_monitor("m1", "r-1", "127.0.0.1:1")]
    reader = attach(stub)
    install = reader.next_of("install").install
    assert (pb.AgentType.Name(install.agent.type), install.agent.version) == ("TELEGRAF", "1.13.2")
    assert (install.url, install.exe) == (RELEASE_URL, "./telegraf/telegraf")

    conf = reader.next_of("configure").configure
    assert conf.agentType == pb.TELEGRAF
    [op] = conf.operations
    assert op.id == f"{TENANT}_m1_r-1" and op.type == pb.ConfigurationOp.CREATE and op.interval == 1
    assert json.loads(op.content)["address"] == "127.0.0.1:1"
    assert dict(op.extraLabels) == {"monitor_id": "m1", "monitor_type": "net_response",
                                    "monitor_selector_scope": "local"}

    rig.domain.monitors[(TENANT, "r-1")] = [net_monitor("m1", "r-1", "127.0.0.1:2"),
                                            net_monitor("m2", "r-1", "127.0.0.1:3", "PT1M")]
    rig.domain.changed("monitors")
    ops = {o.id: o for o in reader.next_of("configure").configure.operations}
    assert ops[f"{TENANT}_m1_r-1"].type == pb.ConfigurationOp.MODIFY
    assert ops[f"{TENANT}_m2_r-1"].type == pb.ConfigurationOp.CREATE
    assert ops[f"{TENANT}_m2_r-1"].interval == 60

    rig.domain.monitors[(TENANT, "r-1")] = [net_monitor("m2", "r-1", "127.0.0.1:3", "PT1M")]
    rig.domain.changed("monitors")
    [removed] = reader.next_of("configure").configure.operations
    assert (removed.id, removed.type) == (f"{TENANT}_m1_r-1", pb.ConfigurationOp.REMOVE)
    rig.domain.changed("monitors")           # nothing changed → nothing sent
    rig.domain.changed("tasks")              # irrelevant kind
    assert reader.items.empty()


def test_no_configure_before_an_install(rig: AmbassadorRig, stub) -> None:
    rig.domain.monitors[(TENANT, "r-1")] = [net_monitor("m1", "r-1", "127.0.0.1:1")]
    reader = attach(stub)
    rig.domain.changed("monitors")
    assert reader.items.empty(), "configure must wait until the envoy has an installed agent"
    rig.domain.installs[(TENANT, "r-1")] = [install_dto(RELEASE_URL)]
    rig.domain.changed("installs")
    assert reader.next().WhichOneof("details") == "install"
    assert reader.next().WhichOneof("details") == "configure"


def test_no_telegraf_configure_for_an_envoy_without_telegraf(rig: AmbassadorRig, stub) -> None:
    """MM binds only agent types the envoy has installed: a FILEBEAT-only envoy gets its install,
    never TELEGRAF configuration (the stand-in once sent it to any envoy with any install)."""
    filebeat = install_dto(RELEASE_URL)
    filebeat["agentRelease"].update(type="FILEBEAT", version="7.1.0", exe="./filebeat/bin/agent")
    rig.domain.installs[(TENANT, "r-1")] = [filebeat]
    rig.domain.monitors[(TENANT, "r-1")] = [net_monitor("m1", "r-1", "127.0.0.1:1")]
    reader = attach(stub)
    install = reader.next_of("install").install
    assert pb.AgentType.Name(install.agent.type) == "FILEBEAT"
    rig.domain.changed("monitors")
    assert reader.items.empty(), "a TELEGRAF configure reached an envoy that has no TELEGRAF install"
    rig.domain.installs[(TENANT, "r-1")] = [filebeat, install_dto(RELEASE_URL)]
    rig.domain.changed("installs")
    assert pb.AgentType.Name(reader.next_of("install").install.agent.type) == "TELEGRAF"
    conf = reader.next_of("configure").configure
    assert conf.agentType == pb.TELEGRAF
    assert [(o.id, o.type) for o in conf.operations] == [(f"{TENANT}_m1_r-1", pb.ConfigurationOp.CREATE)]


def test_remote_monitor_labels(rig: AmbassadorRig) -> None:
    poller_tenant = rig.ctx.config.public_zone_tenant
    channel = rig.channel(poller_tenant)
    stub = pb_grpc.TelemetryAmbassadorStub(channel)
    rig.domain.installs[(poller_tenant, "poller-1")] = [install_dto(RELEASE_URL)]
    rig.domain.monitors[(poller_tenant, "poller-1")] = [
        net_monitor("m9", "target-r", "127.0.0.1:1", remote_zone="public/us_central_1")]
    reader = attach(stub, "poller-1", "public/us_central_1")
    [op] = reader.next_of("configure").configure.operations
    assert op.id == f"{TENANT}_m9_target-r"
    assert dict(op.extraLabels) == {"monitor_id": "m9", "monitor_type": "net_response",
                                    "monitor_selector_scope": "remote", "target_tenant": TENANT,
                                    "resource_id": "target-r", "monitoring_zone_id": "public/us_central_1"}
    channel.close()


# ------------------------------------------------------------------------------ metrics → UMF
def post(stub, envoy_id: str, name: str, tags: dict[str, str], **values) -> None:
    metric = pb.NameTagValueMetric(name=name, timestamp=1_600_000_000_123, tags=tags, **values)
    stub.PostMetric(pb.PostedMetric(metric=pb.Metric(nameTagValue=metric)),
                    metadata=[("x-envoy-id", envoy_id)], timeout=5)


def test_local_metric_becomes_umf(rig: AmbassadorRig, stub) -> None:
    reader = attach(stub, "r-1")
    tags = {"monitor_id": "m1", "monitor_type": "net_response", "monitor_selector_scope": "local",
            "server": "127.0.0.1", "port": "1", "protocol": "tcp", "result": "connection_failed"}
    post(stub, reader.envoy_id, "net_response", tags, fvalues={"result_code": 2.0},
         ivalues={"count": 7}, svalues={"result_type": "connection_failed"})
    [(_, key, value, _)] = poll(lambda: rig.bus.on(topics.METRICS), 5, "UMF")
    assert key == f"{TENANT},r-1,net_response"
    umf = json.loads(value)
    meta = {"server": "127.0.0.1", "port": "1", "protocol": "tcp", "result": "connection_failed"}
    ts = "2020-09-13T12:26:40.123Z"
    assert umf == {
        "tenantId": TENANT, "accountType": "UNKNOWN", "device": "",
        "deviceMetadata": {"agent_discovered_os": "linux", "agent_discovered_arch": "amd64"},
        "monitoringSystem": "SALUS",
        "systemMetadata": {"monitor_id": "m1", "monitor_type": "net_response",
                           "monitor_selector_scope": "local", "resource_id": "r-1",
                           "envoy_id": reader.envoy_id},
        "metrics": [
            {"timestamp": ts, "group": "net_response", "name": "result_code", "metadata": meta, "float": 2.0},
            {"timestamp": ts, "group": "net_response", "name": "count", "metadata": meta, "int": "7"},
            {"timestamp": ts, "group": "net_response", "name": "result_type", "metadata": meta,
             "string": "connection_failed"},
        ]}


def test_remote_metric_is_attributed_to_the_target_tenant(rig: AmbassadorRig) -> None:
    channel = rig.channel(rig.ctx.config.public_zone_tenant)
    stub = pb_grpc.TelemetryAmbassadorStub(channel)
    reader = attach(stub, "poller-1", "public/us_central_1")
    tags = {"monitor_id": "m9", "monitor_type": "net_response", "monitor_selector_scope": "remote",
            "target_tenant": TENANT, "resource_id": "target-r", "monitoring_zone_id": "public/us_central_1",
            "server": "127.0.0.1"}
    post(stub, reader.envoy_id, "net_response", tags, fvalues={"result_code": 0.0})
    [(_, key, value, _)] = poll(lambda: rig.bus.on(topics.METRICS), 5, "UMF")
    umf = json.loads(value)
    assert key == f"{TENANT},target-r,net_response"
    assert umf["tenantId"] == TENANT
    assert "target_tenant" not in umf["systemMetadata"]
    assert umf["systemMetadata"]["monitoring_zone_id"] == "public/us_central_1"
    assert umf["systemMetadata"]["resource_id"] == "target-r"
    assert umf["metrics"][0]["metadata"] == {"server": "127.0.0.1"}
    channel.close()


def test_metric_from_unknown_envoy_is_refused(stub) -> None:
    with pytest.raises(grpc.RpcError) as e:
        post(stub, str(uuid.uuid1()), "net_response", {}, fvalues={"x": 1.0})
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# ------------------------------------------------------------------------------ faults
def test_fault_attach_events_dropped(rig: AmbassadorRig, stub) -> None:
    rig.ctx.faults.enable(F.ATTACH_EVENTS_DROPPED)
    rig.domain.installs[(TENANT, "r-1")] = [install_dto(RELEASE_URL)]
    reader = attach(stub)
    reader.next_of("install")          # sent after the (suppressed) publish, in the same thread
    assert rig.domain.attached and not rig.bus.on(topics.ATTACHES)


def test_fault_installs_withheld(rig: AmbassadorRig, stub) -> None:
    rig.ctx.faults.enable(F.INSTALLS_WITHHELD)
    rig.domain.installs[(TENANT, "r-1")] = [install_dto(RELEASE_URL)]
    rig.domain.monitors[(TENANT, "r-1")] = [net_monitor("m1", "r-1", "127.0.0.1:1")]
    reader = attach(stub)
    poll(lambda: rig.bus.on(topics.ATTACHES), 5, "AttachEvent")
    rig.domain.changed("installs")     # reconciles synchronously in this thread
    assert reader.items.empty() and not any(i.WhichOneof("details") == "install" for i in reader.seen)
    rig.ctx.faults.disable(F.INSTALLS_WITHHELD)
    rig.domain.changed("installs")
    assert reader.next().WhichOneof("details") == "install", "control: installs flow once the fault is off"


def test_fault_install_wrong_path(rig: AmbassadorRig, stub) -> None:
    rig.ctx.faults.enable(F.INSTALL_WRONG_PATH)
    rig.domain.installs[(TENANT, "r-1")] = [install_dto(RELEASE_URL)]
    reader = attach(stub)
    install = reader.next_of("install").install
    assert install.agent.version != "1.13.2" and install.agent.version.startswith("1.13.2")


def test_refresh_is_sent_every_interval(rig: AmbassadorRig, stub) -> None:
    """The real ambassador refreshes every envoy each ``envoyRefreshInterval``, busy or quiet."""
    rig.ambassador.refresh_interval = 0.2
    reader = attach(stub)
    assert reader.next_of("refresh", timeout=5).WhichOneof("details") == "refresh"
    assert reader.next_of("refresh", timeout=5).WhichOneof("details") == "refresh"


def test_pki_survives_a_restart_and_issues_client_auth_certs(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    first = Pki(tmp_path / "pki")
    again = Pki(tmp_path / "pki")
    assert first.ca_pem == again.ca_pem
    cert_pem, key_pem, ca_pem = again.issue_client_cert(TENANT)
    assert ca_pem == first.ca_pem and "PRIVATE KEY" in key_pem
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == TENANT
    assert ExtendedKeyUsageOID.CLIENT_AUTH in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    server, _ = first.server_cert(["127.0.0.1", "localhost"])
    sans = x509.load_pem_x509_certificate(server.encode()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert oct((tmp_path / "pki" / "ca-key.pem").stat().st_mode & 0o777) == "0o600"
