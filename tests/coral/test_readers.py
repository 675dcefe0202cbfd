"""The pack's readers accept what both Coral versions send (contract §2.1, §3.4, §4.3)."""
from __future__ import annotations

import json

import httpx
import pytest

from support.coral.clients import AgentInfo, AgentPage, ColonyEntry, MeshPage, Registration
from support.coral.connect import ConnectClient, RpcError, enum, i, ts
from support.coral.settings import CoralSettings
from support.http import ApiClient


def test_int64_as_string_or_number_and_missing_defaults():
    assert i({"uptimeSeconds": "42"}, "uptimeSeconds") == 42
    assert i({"uptimeSeconds": 42}, "uptimeSeconds") == 42
    assert i({}, "uptimeSeconds") == 0
    assert enum("NAT_CONE", ["NAT_UNKNOWN", "NAT_CONE"]) == "NAT_CONE"
    assert enum(1, ["NAT_UNKNOWN", "NAT_CONE"]) == "NAT_CONE"


def test_rejection_without_accepted_key_reads_as_rejected():
    reg = Registration.read({"reason": "wrong_colony"})
    assert not reg.accepted and reg.reason == "wrong_colony" and reg.assigned_ip == ""


def test_workers_1970_timestamps_parse_for_comparison():
    assert ts("1970-01-21T06:37:12.345Z") is not None
    assert ts("2026-01-05T10:00:00Z") > ts("2026-01-05T09:59:59Z")
    assert ts(None) is None
    e = ColonyEntry.read({"meshId": "m", "connectPort": "9000", "lastSeen": "1970-01-21T06:37:12Z"})
    assert e.connect_port == 9000 and e.last_seen_raw


def test_list_agents_reader():
    a = AgentInfo.read({"agentId": "agent-1", "meshIpv4": "100.64.0.2", "status": "healthy",
                        "lastSeen": "2026-01-05T10:00:00Z", "services": [{"name": "otel-app"}]})
    assert a.services == ["otel-app"] and a.last_seen


PLAN_AGENT = {"mesh": {"agent_id": "a", "mesh_ip": "100.64.0.2", "mesh_subnet": "100.64.0.0/10",
                       "wireguard": {"interface_exists": True, "link_status": "wg0: <UP,LOWER_UP>", "peer_count": 1,
                                     "peers": [{"public_key": "abcdefghijklmnop...", "endpoint": "198.51.100.11:41580",
                                                "allowed_ips": ["100.64.0.1/32"]}]}},
              "colony": {"mesh_ipv4": "100.64.0.1"}, "colony_connectivity": {"reachable": True},
              "ping_result": "rtt min/avg/max/mdev = 0.6/0.6/0.6/0.0 ms"}
HEAD_PEER = {"public_key": "abcdefghijklmnop...", "endpoint": "198.51.100.11:41580", "allowed_ips": ["100.64.0.1/32"],
             "rx_bytes": 92, "tx_bytes": "148", "last_handshake_time": "2026-01-05T10:00:00Z"}
HEAD_AGENT = {"wireguard": {"agent_id": "a", "mesh_ip": "100.64.0.2", "mesh_subnet": "100.64.0.0/10",
                            "status": {"interface_exists": True, "link_status": "wg0: <UP,LOWER_UP>", "peer_count": 1,
                                       "peers": [HEAD_PEER]}},
              "colony": {"mesh_ipv4": "100.64.0.1"}, "colony_connectivity": {}}


@pytest.mark.parametrize("page,layout", [(PLAN_AGENT, "plan"), (HEAD_AGENT, "head")])
def test_agent_status_reads_alike_in_both_layouts(page, layout):
    p = AgentPage.read(page, layout)
    assert p.agent_id == "a" and p.mesh.mesh_ip == "100.64.0.2" and p.mesh.interface_exists
    assert p.mesh.peer_for("100.64.0.1") is not None and p.colony_mesh_ipv4 == "100.64.0.1"
    assert p.reachable is (layout == "plan")          # a missing boolean is false


def test_head_peer_counters():
    peer = MeshPage.read(HEAD_AGENT, "head").peers[0]
    assert peer.rx_bytes == 92 and peer.tx_bytes == 148 and peer.last_handshake


def _client(status: int, body: object) -> ConnectClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == {}          # never an empty body (connect-go rejects it)
        return httpx.Response(status, json=body)
    return ConnectClient(ApiClient("http://198.51.100.10:8080/", 5, transport=httpx.MockTransport(handler)))


def test_connect_error_code_is_what_specs_read():
    with pytest.raises(RpcError) as e:
        _client(404, {"code": "not_found", "message": "colony not found: x"}).call("svc", "LookupColony", {})
    assert e.value.code == "not_found" and e.value.status == 404 and "colony not found" in e.value.message


def test_empty_answer_is_an_empty_message():
    assert _client(200, {}).call("svc", "Heartbeat", None) == {}


def test_settings_defaults_follow_the_version():
    base = {"discovery_url": "http://198.51.100.10:8080", "colony": {"id": "c", "connect_url": "http://h:9000"}}
    plan = CoralSettings(**base)
    head = CoralSettings(**base, version="head")
    assert (plan.heartbeat_interval, plan.discovery_flavour, plan.secret_auth) == (15.0, "go", True)
    assert (head.heartbeat_interval, head.discovery_flavour, head.secret_auth) == (30.0, "workers", False)
    assert plan.thresholds.healthy == 30 and plan.thresholds.degraded == 120 and plan.lease.ttl == 300
    assert plan.discovery_url.endswith("/")


def test_capabilities_of_a_real_profile():
    from support.coral.pack import PACK
    s = CoralSettings(discovery_url="http://d:8080", colony={"id": "c", "connect_url": "http://h:9000"},
                      agents=[{"name": "a", "status_url": "http://a:9001"}])
    caps = PACK.capabilities(s)
    assert "mesh_hosts" in caps and "underlay" in caps
    assert not caps & {"faults", "netns", "short_ttl", "three_agents", "secret_auth", "spare_agent"}
    unavailable = CoralSettings(unavailable="no /dev/net/tun")
    assert PACK.capabilities(unavailable) == set() and PACK.endpoints(unavailable) == []


def _profile(tmp_path, text: str):
    path = tmp_path / "coral-real.yaml"
    path.write_text(text)
    return path


REAL = """coral:
  version: plan
  discovery_url: http://198.51.100.10:8080
  colony: {id: app-prod-abc123, connect_url: "http://198.51.100.11:9000"}
  agents:
    - {name: web-1, status_url: "http://198.51.100.21:9001"}
"""


def test_env_overrides_and_secret_from_env(tmp_path):
    from support.config import load_settings
    env = {"E2ET_CONFIG": str(_profile(tmp_path, REAL)), "E2ET_CORAL__COLONY__SECRET": "s3cr3t-value",
           "E2ET_CORAL__HEARTBEAT_INTERVAL": "5s", "E2ET_CORAL__VERSION": "head"}
    s = load_settings("dev", env, packs=["coral"]).section("coral")
    assert s.colony.secret.get_secret_value() == "s3cr3t-value"
    assert s.heartbeat_interval == 5.0 and s.version == "head"


def test_a_literal_secret_in_a_profile_is_refused(tmp_path):
    from support.config import load_settings
    from support.errors import ConfigError
    text = REAL.replace("connect_url:", "secret: hunter2hunter2, connect_url:")
    with pytest.raises(ConfigError, match="secret"):
        load_settings("dev", {"E2ET_CONFIG": str(_profile(tmp_path, text))}, packs=["coral"])
