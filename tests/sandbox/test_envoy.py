"""The envoy stand-in as a real child process against a real ambassador over mTLS:
certificate from the auth service, attach, install layout on disk, configure → telegraf stand-in
probing real sockets → PostMetric → UMF, the wrong-path fault, and a clean SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from sandbox.salus import faults as F
from sandbox.salus import topics
from sandbox.salus.envoy.cli import main as envoy_main
from sandbox.salus.http.downloads import build_downloads_app
from sandbox.salus.releases import build_telegraf_release
from support.durations import seconds_or

try:  # works whether or not tests/sandbox is a package
    from .edge_support import (
        REPO_ROOT,
        TENANT,
        AiohttpThread,
        AmbassadorRig,
        auth_service,
        free_port,
        install_dto,
        net_monitor,
        poll,
        start_ambassador,
    )
except ImportError:
    from edge_support import (
        REPO_ROOT,
        TENANT,
        AiohttpThread,
        AmbassadorRig,
        auth_service,
        free_port,
        install_dto,
        net_monitor,
        poll,  # type: ignore[no-redef]
        start_ambassador,
    )

VERSION = "1.13.2"
EXE = "./telegraf/telegraf"


class EnvoyRun:
    """One ``telemetry-envoy run`` child in its own session, killed as a group if a test fails."""

    def __init__(self, tmp: Path, rig: AmbassadorRig, auth_url: str, resource_id: str, data_path: str | None = None,
                 cwd: Path = REPO_ROOT, **extra: Any) -> None:
        """``data_path`` as written into the config (relative ones resolve against ``cwd``)."""
        self.data = cwd / data_path if data_path else tmp / "envoy-data"
        self.config = tmp / "telemetry-envoy.yaml"
        cfg = {"resource_id": resource_id, "auth_token": TENANT,
               "labels": {"environment": "test"},
               "tls": {"auth_service": {"url": auth_url}},
               "ambassador": {"address": rig.address, "keepAliveInterval": "1s"},
               "agents": {"dataPath": data_path or str(self.data), "terminationTimeout": "2s",
                          "restartDelay": "1s", "maxFlushInterval": "200ms"},
               # port 0: the envoy binds a free port and tells telegraf (as the real envoy does)
               "ingest": {"telegraf": {"json": {"bind": "127.0.0.1:0"}}}, **extra}
        self.config.write_text(yaml.safe_dump(cfg))
        self.log = tmp / "envoy.log"
        self._log = open(self.log, "wb")  # noqa: SIM115 — open while the envoy runs; closed by stop()
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        self.proc = subprocess.Popen([sys.executable, "-m", "sandbox.salus.envoy.cli", "run",
                                      f"--config={self.config}"], cwd=str(cwd), env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self._log.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[AmbassadorRig]:
    r = start_ambassador(tmp_path / "amb")
    yield r
    r.ambassador.stop(0.2)


@pytest.fixture
def servers(rig: AmbassadorRig, tmp_path: Path) -> Iterator[dict[str, str]]:
    releases = tmp_path / "releases"
    tarball = build_telegraf_release(releases, VERSION, "linux-amd64")
    downloads = AiohttpThread(build_downloads_app(releases))
    auth = auth_service(rig.pki)
    yield {"auth": auth.url, "release": f"{downloads.url}/releases/{tarball.name}"}
    auth.close()
    downloads.close()


@pytest.fixture
def envoys(tmp_path: Path) -> Iterator[list[EnvoyRun]]:
    runs: list[EnvoyRun] = []
    yield runs
    for run in runs:
        run.close()


def test_full_chain_attach_install_configure_metrics_and_clean_stop(
        rig: AmbassadorRig, servers: dict[str, str], envoys: list[EnvoyRun], tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))      # a real open port
    open_port = listener.getsockname()[1]
    closed_port = free_port()                              # nothing listens here
    rig.domain.installs[(TENANT, "r-e2e")] = [install_dto(servers["release"])]
    rig.domain.monitors[(TENANT, "r-e2e")] = [
        net_monitor("m-closed", "r-e2e", f"127.0.0.1:{closed_port}"),
        net_monitor("m-open", "r-e2e", f"127.0.0.1:{open_port}")]
    envoy = EnvoyRun(tmp_path, rig, servers["auth"], "r-e2e")
    envoys.append(envoy)

    # attach: tenant from the issued cert, discovered labels prefixed
    event = poll(lambda: rig.bus.on(topics.ATTACHES), 15, "AttachEvent")[0]
    assert event[1] == f"{TENANT}:r-e2e"
    labels = event[2]["labels"]
    assert labels["agent_environment"] == "test"
    assert labels["agent_discovered_os"] in ("linux", "darwin", "windows")
    assert labels["agent_discovered_arch"] and labels["agent_discovered_hostname"]

    # install layout
    agent_dir = envoy.data / "agents" / "TELEGRAF"
    binary = agent_dir / VERSION / "bin" / "telegraf"
    poll(binary.exists, 10, f"{binary}")
    assert os.access(binary, os.X_OK)
    assert os.readlink(agent_dir / "CURRENT") == VERSION
    assert sorted(p.name for p in (agent_dir / VERSION / "bin").iterdir()) == ["telegraf"]
    assert not list(envoy.data.rglob("*.conf")), "telegraf configs are never written to disk"

    # configure → telegraf probes real sockets → UMF
    def results() -> dict[str, dict[str, Any]]:
        out = {}
        for _, key, value, _ in rig.bus.on(topics.METRICS):
            umf = json.loads(value)
            if "monitor_id" in umf["systemMetadata"]:       # not telegraf's own internal_agent
                out[umf["systemMetadata"]["monitor_id"]] = (key, umf)
        return out
    seen = poll(lambda: (r := results()) and {"m-closed", "m-open"} <= set(r) and r, 15,
                "UMF for both monitors")
    key, closed = seen["m-closed"]
    assert key == f"{TENANT},r-e2e,net_response"
    fields = {m["name"]: m for m in closed["metrics"]}
    assert fields["result_code"]["float"] == 2.0
    assert fields["result_code"]["metadata"] == {"server": "127.0.0.1", "port": str(closed_port),
                                                 "protocol": "tcp", "result": "connection_failed"}
    assert "response_time" in fields
    assert closed["systemMetadata"]["envoy_id"] == event[2]["envoyId"]
    assert closed["deviceMetadata"] == labels
    _, opened = seen["m-open"]
    assert {m["name"]: m.get("float") for m in opened["metrics"]}["result_code"] == 0.0

    # SIGTERM: agents stopped, exit 0, no orphans
    envoy_proc = psutil.Process(envoy.proc.pid)
    children = envoy_proc.children(recursive=True)
    assert children, "telegraf should be running as the envoy's child"
    envoy.proc.send_signal(signal.SIGTERM)
    assert envoy.proc.wait(10) == 0
    _gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"orphaned agent processes: {alive}"
    poll(lambda: rig.domain.detached, 5, "detach seen by the ambassador")
    out = envoy.output()
    assert "PRIVATE KEY" not in out and "Bearer" not in out and "INFLUX_TOKEN" not in out
    assert "attached as envoy" in out
    listener.close()


def test_a_relative_data_path_runs_telegraf_relative_to_the_agent_dir(
        rig: AmbassadorRig, servers: dict[str, str], envoys: list[EnvoyRun], tmp_path: Path) -> None:
    """The earlier Go e2et's local template uses a relative ``agents.dataPath``: the real envoy runs
    ``CURRENT/bin/telegraf`` relative to the agent's directory; resolving it twice starts nothing."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    rig.domain.installs[(TENANT, "r-rel")] = [install_dto(servers["release"])]
    rig.domain.monitors[(TENANT, "r-rel")] = [net_monitor("m-rel", "r-rel", f"127.0.0.1:{free_port()}")]
    envoy = EnvoyRun(tmp_path, rig, servers["auth"], "r-rel", data_path="relative-data", cwd=workdir)
    envoys.append(envoy)
    poll(lambda: [r for r in rig.bus.on(topics.METRICS) if r[1].endswith(",net_response")], 20,
         "a metric from telegraf started under a relative data path", lambda: envoy.output()[-2000:])
    assert (workdir / "relative-data" / "agents" / "TELEGRAF" / VERSION / "bin" / "telegraf").is_file()
    assert "Loaded inputs:" in envoy.output(), "telegraf's output is forwarded to the envoy's log"


def test_fault_install_wrong_path_lands_the_agent_elsewhere(
        rig: AmbassadorRig, servers: dict[str, str], envoys: list[EnvoyRun], tmp_path: Path) -> None:
    rig.ctx.faults.enable(F.INSTALL_WRONG_PATH)
    rig.domain.installs[(TENANT, "r-wrong")] = [install_dto(servers["release"])]
    envoy = EnvoyRun(tmp_path, rig, servers["auth"], "r-wrong")
    envoys.append(envoy)
    agent_dir = envoy.data / "agents" / "TELEGRAF"
    poll(lambda: (agent_dir / "CURRENT").is_symlink(), 15, "an install")
    assert os.readlink(agent_dir / "CURRENT") != VERSION
    assert not (agent_dir / VERSION).exists()


def test_failed_install_removes_the_version_dir(
        rig: AmbassadorRig, servers: dict[str, str], envoys: list[EnvoyRun], tmp_path: Path) -> None:
    # exe names no entry of the tarball → extraction fails → version dir removed, envoy stays up
    rig.domain.installs[(TENANT, "r-bad")] = [install_dto(servers["release"], exe="./telegraf/nope")]
    envoy = EnvoyRun(tmp_path, rig, servers["auth"], "r-bad")
    envoys.append(envoy)
    poll(lambda: "install of TELEGRAF" in envoy.output(), 15, "the install failure log line")
    assert not (envoy.data / "agents" / "TELEGRAF" / VERSION).exists()
    assert (envoy.data / "agents" / "TELEGRAF").is_dir(), "parent dirs remain (as the real envoy)"
    assert envoy.proc.poll() is None


def test_unknown_zone_is_refused_and_the_envoy_keeps_retrying(
        rig: AmbassadorRig, servers: dict[str, str], envoys: list[EnvoyRun], tmp_path: Path) -> None:
    envoy = EnvoyRun(tmp_path, rig, servers["auth"], "r-zone", zone="no_such_zone")
    envoys.append(envoy)
    poll(lambda: envoy.output().count("Provided zone does not exist") >= 2, 15, "two refused attaches")
    assert not rig.domain.attached and envoy.proc.poll() is None
    envoy.proc.send_signal(signal.SIGINT)
    assert envoy.proc.wait(10) == 0


# ------------------------------------------------------------------------------ CLI / config
def test_config_suffix_and_discovered_labels_are_enforced(tmp_path: Path) -> None:
    bad_suffix = tmp_path / "envoy.conf"
    bad_suffix.write_text("resource_id: r\n")
    with pytest.raises(SystemExit, match=r"\.yml or \.yaml"):
        envoy_main(["run", f"--config={bad_suffix}"])
    bad_label = tmp_path / "envoy.yaml"
    bad_label.write_text(yaml.safe_dump({"resource_id": "r", "labels": {"discovered_os": "x"}}))
    with pytest.raises(SystemExit, match="discovered_"):
        envoy_main(["run", f"--config={bad_label}"])
    no_rid = tmp_path / "norid.yml"
    no_rid.write_text("zone: z\n")
    with pytest.raises(SystemExit, match="resource_id"):
        envoy_main(["run", f"--config={no_rid}"])


def test_flags_beat_env_beat_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from sandbox.salus.envoy.cli import load_config
    conf = tmp_path / "e.yaml"
    conf.write_text(yaml.safe_dump({"resource_id": "file", "zone": "file_zone",
                                    "ambassador": {"address": "file:1"}}))
    monkeypatch.setenv("ENVOY_ZONE", "env_zone")
    monkeypatch.setenv("ENVOY_RESOURCE_ID", "env")
    monkeypatch.setenv("ENVOY_AMBASSADOR_ADDRESS", "env:2")
    args = argparse.Namespace(config=str(conf), resource_id="flag", zone=None, auth_token=None, data_path=None)
    cfg = load_config(args)
    assert (cfg["resource_id"], cfg["zone"], cfg["ambassador"]["address"]) == ("flag", "env_zone", "env:2")


def test_version_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert envoy_main(["version"]) == 0
    assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("text, expected", [("45s", 45.0), ("1m30s", 90.0), ("500ms", 0.5), (2, 2.0),
                                            ("junk", 7.0), (None, 7.0)])
def test_go_durations(text: Any, expected: float) -> None:
    assert seconds_or(text, 7.0) == expected


# ------------------------------------------------------------------------------ with the real domain
def test_remote_monitor_chain_with_the_real_domain(
        rig: AmbassadorRig, servers: dict[str, str], envoys: list[EnvoyRun], tmp_path: Path) -> None:
    """Same chain, but the ambassador talks to ``SalusDomain``: guards the seam between them."""
    from sandbox.salus.ambassador import Ambassador
    from sandbox.salus.domain import SalusDomain
    rig.ambassador.stop(0.1)
    domain = SalusDomain(rig.ctx)
    rig.ctx.domain = domain
    rig.ambassador = amb = Ambassador(rig.ctx)       # same PKI, now wired to the real domain
    rig.port = amb.start("127.0.0.1", 0)
    try:
        closed_port = free_port()
        release = domain.releases.create({"type": "TELEGRAF", "version": VERSION, "url": servers["release"],
                                         "exe": EXE, "labels": {"agent_discovered_os": "linux"}})
        domain.installs.create(TENANT, {"agentReleaseId": release["id"], "labelSelector": {}})
        domain.zones.create_private(TENANT, {"name": "e2e_zone"})
        domain.resources.create(TENANT, {"resourceId": "r-target", "presenceMonitoringEnabled": True,
                                        "labels": {"role": "target"}})
        monitor = domain.monitors.create(TENANT, {
            "name": "tcp", "resourceId": "r-target", "interval": "PT1S",
            "details": {"type": "remote", "monitoringZones": ["e2e_zone"],
                        "plugin": {"type": "net_response", "host": "127.0.0.1", "port": closed_port}}})
        envoy = EnvoyRun(tmp_path, rig, servers["auth"], "poller-r", zone="e2e_zone")
        envoys.append(envoy)
        [(_, key, value, _)] = poll(lambda: [r for r in rig.bus.on(topics.METRICS)
                                             if r[1].endswith(",net_response")][:1], 20, "a UMF from the poller")
        umf = json.loads(value)
        assert key == f"{TENANT},r-target,net_response"
        assert umf["tenantId"] == TENANT and umf["deviceMetadata"] == {"role": "target"}
        assert umf["systemMetadata"]["monitor_id"] == monitor["id"]
        assert umf["systemMetadata"]["monitoring_zone_id"] == "e2e_zone"
        assert {m["name"]: m.get("float") for m in umf["metrics"]}["result_code"] == 2.0
        envoy.proc.send_signal(signal.SIGTERM)
        assert envoy.proc.wait(10) == 0
    finally:
        amb.stop(0.1)
        domain.close()


def test_sigterm_while_the_ambassador_is_unreachable(
        rig: AmbassadorRig, servers: dict[str, str], envoys: list[EnvoyRun], tmp_path: Path) -> None:
    rig.ambassador.stop(0.1)                         # nothing listens at the configured address
    envoy = EnvoyRun(tmp_path, rig, servers["auth"], "r-gone")
    envoys.append(envoy)
    poll(lambda: envoy.output().count("ambassador stream ended") >= 2, 15, "two failed attaches")
    envoy.proc.send_signal(signal.SIGTERM)
    assert envoy.proc.wait(5) == 0
