"""Scripted walkthrough of the whole sandbox chain, using only its public surface (HTTP, Kafka,
the envoy process): token → zone → envoy attaches → install lands in its data dir → task + tcp
monitor on a closed port → CRITICAL EventNotification → port opened → OK notification."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import yaml
from kafka import KafkaConsumer, TopicPartition

from support.sandboxes import start_sandbox
from support.waiting import poll

REPO = Path(__file__).resolve().parents[2]


def _poll(fn, timeout, what):
    return poll(fn, timeout, what, interval=0.05)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_walkthrough(tmp_path):
    sb = start_sandbox("salus", tmp_path / "sandbox")
    envoy = None
    try:
        prof = yaml.safe_load(sb.profile_path.read_text())
        tenant = prof["tenant"]["id"]
        tok = httpx.post(prof["identity"]["url"] + "tokens", json={"auth": {"RAX-KSKEY:apiKeyCredentials": {
            "username": prof["regular"]["username"], "apiKey": prof["regular"]["api_key"]}}}).json()
        api = httpx.Client(base_url=f"{prof['public_api']['url']}tenant/{tenant}/",
                           headers={"X-Auth-Token": tok["access"]["token"]["id"]}, timeout=5)
        assert api.post("zones", json={"name": "walk_zone"}).status_code == 201
        envoy_token = api.post("envoy-tokens", json={"description": "walkthrough"}).json()["token"]

        consumer = KafkaConsumer(bootstrap_servers=prof["kafka"]["brokers"], group_id=None, enable_auto_commit=False)
        tps = [TopicPartition(t, p) for t in ("telemetry.attaches.json", prof["events"]["topic"])
               for p in consumer.partitions_for_topic(t)]
        ends = consumer.end_offsets(tps)
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, ends[tp])
        seen: list[tuple[str, dict]] = []

        def records(topic, pred):
            for batch in consumer.poll(100).values():
                for r in batch:
                    seen.append((r.topic, json.loads(r.value)))
            return next((m for t, m in seen if t == topic and pred(m)), None)

        data = tmp_path / "envoy-data"
        conf = tmp_path / "envoy.yaml"
        conf.write_text(yaml.safe_dump({
            "resource_id": "walk-resource", "zone": "walk_zone", "auth_token": envoy_token,
            "labels": {"walk": "yes"}, "tls": {"auth_service": {"url": prof["auth_service"]["url"]}},
            "ambassador": {"address": prof["ambassador"]["address"]}, "agents": {"dataPath": str(data)},
            "ingest": {"telegraf": {"json": {"bind": f"127.0.0.1:{_closed_port()}"}}}}))
        envoy = subprocess.Popen([sys.executable, "-m", "sandbox.salus.envoy.cli", "run", f"--config={conf}"],
                                 cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        attach = _poll(lambda: records("telemetry.attaches.json", lambda m: m["resourceId"] == "walk-resource"),
                       10, "AttachEvent")
        assert attach["tenantId"] == tenant and attach["labels"]["agent_walk"] == "yes"

        release = next(r for r in api.get("agent-releases", params={"type": "TELEGRAF", "size": 100}).json()["content"]
                       if r["version"] == prof["agent_release"]["version"]
                       and r["labels"]["agent_discovered_os"] == "linux")
        assert api.post("agent-installs", json={"agentReleaseId": release["id"],
                                                "labelSelector": {"agent_walk": "yes"}}).status_code == 201
        binary = data / "agents" / "TELEGRAF" / release["version"] / "bin" / "telegraf"
        _poll(binary.exists, 10, f"agent binary at {binary}")
        assert os.readlink(data / "agents" / "TELEGRAF" / "CURRENT") == release["version"]

        task = api.post("event-tasks", json={"name": "walk-task", "monitoringSystem": "salus", "taskParameters": {
            "metricGroup": "net_response", "labelSelector": {"system_resource_id": "walk-resource"},
            "stateExpressions": [{"state": "CRITICAL", "expression": {
                "type": "comparison", "comparator": "!=", "input": "result_code", "comparisonValue": 0}}]}})
        assert task.status_code == 201, task.text
        port = _closed_port()
        mon = api.post("monitors", json={"name": "walk-tcp", "resourceId": "walk-resource", "interval": "PT1S",
                                         "details": {"type": "remote", "monitoringZones": ["walk_zone"],
                                                     "plugin": {"type": "net_response", "host": "127.0.0.1",
                                                                "port": port}}})
        assert mon.status_code == 201, mon.text
        topic = prof["events"]["topic"]
        crit = _poll(lambda: records(topic, lambda m: m["state"] == "CRITICAL"), 10, "CRITICAL notification")
        assert crit["tenantId"] == tenant and crit["labels"]["system_resource_id"] == "walk-resource"
        assert crit["metricGroup"] == "net_response" and crit["taskId"] == task.json()["id"]
        assert crit["id"].startswith(f"{tenant}:") and crit["id"].endswith(":CRITICAL")

        with socket.socket() as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(16)
            ok = _poll(lambda: records(topic, lambda m: m["state"] == "OK"), 10, "OK notification")
        assert ok["previousState"] == "CRITICAL"
        consumer.close()
    finally:
        if envoy is not None:
            children = psutil.Process(envoy.pid).children(recursive=True) if envoy.poll() is None else []
            os.killpg(envoy.pid, signal.SIGTERM)
            envoy.wait(10)
            gone, alive = psutil.wait_procs(children, timeout=5)
            assert not alive, f"agents outlived the envoy: {alive}"
        sb.stop()
