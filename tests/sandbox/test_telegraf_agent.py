"""The release tarball, the downloads app, the envoy's in-memory telegraf config, and the
telegraf stand-in run exactly as the envoy runs it (extracted executable, config over HTTP)."""
from __future__ import annotations

import http.server
import itertools
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.salus.envoy.agents import ConfigServer, render_telegraf
from sandbox.salus.http.downloads import build_downloads_app
from sandbox.salus.releases import build_telegraf_release

try:  # works whether or not tests/sandbox is a package
    from .edge_support import AiohttpThread, HttpServerThread, free_port, iter_lines, poll
except ImportError:
    from edge_support import AiohttpThread, HttpServerThread, free_port, iter_lines, poll  # type: ignore[no-redef]


# ------------------------------------------------------------------------------ release + downloads
def test_release_tarball_layout(tmp_path: Path) -> None:
    path = build_telegraf_release(tmp_path, "1.13.2", "linux-amd64")
    assert path.name == "telegraf-1.13.2-linux-amd64.tar.gz"
    with tarfile.open(path, "r:gz") as tar:
        names = tar.getnames()
        exe = tar.getmember("./telegraf/telegraf")
        script = tar.extractfile(exe).read().decode()
    assert {"./telegraf/telegraf", "./telegraf/telegraf.conf", "./README"} <= set(names)
    assert exe.isfile() and exe.mode & 0o111
    assert script.splitlines()[0] == f"#!{sys.executable}"
    assert "def net_response" in script
    assert build_telegraf_release(tmp_path, "1.13.2", "linux-amd64") == path   # idempotent


def test_downloads_app_serves_releases(tmp_path: Path) -> None:
    path = build_telegraf_release(tmp_path, "1.13.2", "linux-amd64")
    srv = AiohttpThread(build_downloads_app(tmp_path))
    try:
        with urllib.request.urlopen(f"{srv.url}/releases/{path.name}", timeout=5) as resp:
            assert resp.read() == path.read_bytes()
        for missing in ("/releases/nope.tar.gz", "/releases/", "/releases/../README"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(f"{srv.url}{missing}", timeout=5)
            assert e.value.code in (403, 404)
    finally:
        srv.close()


# ------------------------------------------------------------------------------ config rendering
def op(op_id: str, content: dict[str, Any], interval: int = 60, **labels: str) -> dict[str, Any]:
    return {"id": op_id, "type": "CREATE", "content": json.dumps(content), "interval": interval,
            "extraLabels": labels}


def test_render_telegraf_is_the_envoy_conversion() -> None:
    ops = {"a": op("a", {"type": "net_response", "protocol": "tcp", "address": "h:1", "timeout": "3s"},
                   60, monitor_id="m1", monitor_type="net_response"),
           "b": op("b", {"type": "http_response", "urls": ["http://x/\"q\""], "follow_redirects": False,
                         "headers": {"X-A": "1"}}, 5, monitor_id="m2"),
           "bad": {"id": "bad", "content": "not json", "interval": 1, "extraLabels": {}}}
    conf = tomllib.loads(render_telegraf(ops, "127.0.0.1:8094"))
    # the real envoy's main config (agents/telegraf.go): defaults 60 s, jitter fixed at 2 s
    assert conf["agent"] == {"interval": "1m0s", "flush_interval": "1m0s", "flush_jitter": "2s",
                             "omit_hostname": True}
    assert conf["outputs"]["socket_writer"] == [{"address": "tcp://127.0.0.1:8094", "data_format": "json",
                                                 "json_timestamp_units": "1ms"}]
    assert conf["inputs"]["internal"] == [{"collect_memstats": False}]
    timed = tomllib.loads(render_telegraf({}, "127.0.0.1:1", default_interval=30, max_flush_interval=0.5))
    assert (timed["agent"]["interval"], timed["agent"]["flush_interval"]) == ("30s", "500ms")
    [net] = conf["inputs"]["net_response"]
    assert net == {"protocol": "tcp", "address": "h:1", "timeout": "3s", "interval": "60s",
                   "tags": {"monitor_id": "m1", "monitor_type": "net_response"}}
    [http_in] = conf["inputs"]["http_response"]
    assert http_in["urls"] == ['http://x/"q"'] and http_in["headers"] == {"X-A": "1"}
    assert http_in["interval"] == "5s" and http_in["tags"] == {"monitor_id": "m2"}


def test_config_server_requires_the_token() -> None:
    server = ConfigServer()
    server.content = "x = 1\n"
    try:
        req = urllib.request.Request(server.url, headers={"Authorization": f"Token {server.token}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.read() == b"x = 1\n"
        for headers in ({}, {"Authorization": "Token wrong"}, {"Authorization": f"Bearer {server.token}"}):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(urllib.request.Request(server.url, headers=headers), timeout=5)
            assert e.value.code == 401
    finally:
        server.close()


# ------------------------------------------------------------------------------ the stand-in itself
class Collector:
    """The envoy's ingest side: a TCP listener gathering telegraf JSON lines."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        with conn:
            for line in iter_lines(conn):
                item = json.loads(line)
                self.seen.append(item)

    def matching(self, **tags: str) -> list[dict[str, Any]]:
        return [m for m in list(self.seen) if all(m["tags"].get(k) == v for k, v in tags.items())]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def telegraf_exe(tmp_path: Path) -> Path:
    """The executable extracted from the release tarball, as the envoy installs it."""
    tarball = build_telegraf_release(tmp_path / "rel", "1.13.2", "linux-amd64")
    target = tmp_path / "bin" / "telegraf"
    target.parent.mkdir()
    with tarfile.open(tarball, "r:gz") as tar:
        target.write_bytes(tar.extractfile("./telegraf/telegraf").read())
    target.chmod(0o755)
    return target


@pytest.fixture
def web() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"all good"
            self.send_response(200 if self.path == "/ok" else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    srv = HttpServerThread(Handler)
    yield srv.url
    srv.close()


def test_standin_probes_real_sockets_reloads_on_sighup_and_stops_on_sigterm(
        telegraf_exe: Path, web: str) -> None:
    collector = Collector()
    listener = socket.create_server(("127.0.0.1", 0))
    open_port, closed_port = listener.getsockname()[1], free_port()
    server = ConfigServer()
    ops = {"closed": op("closed", {"type": "net_response", "address": f"127.0.0.1:{closed_port}",
                                   "timeout": "1s"}, 1, monitor_id="closed"),
           "open": op("open", {"type": "net_response", "address": f"127.0.0.1:{open_port}",
                               "protocol": "tcp", "timeout": "1s"}, 1, monitor_id="open"),
           "http": op("http", {"type": "http_response", "urls": [f"{web}/ok"], "method": "GET",
                               "response_timeout": "2s", "response_string_match": "good"}, 1, monitor_id="http"),
           "http503": op("http503", {"type": "http_response", "urls": [f"{web}/down"]}, 1, monitor_id="h503"),
           "httpdead": op("httpdead", {"type": "http_response", "urls": [f"http://127.0.0.1:{closed_port}/"]},
                          1, monitor_id="hdead")}
    server.content = render_telegraf(ops, collector.address, max_flush_interval=0.2)
    proc = subprocess.Popen([str(telegraf_exe), "--config", server.url],
                            env=dict(os.environ, INFLUX_TOKEN=server.token), cwd=str(telegraf_exe.parent),
                            stderr=subprocess.PIPE)
    try:
        for mid in ("closed", "open", "http", "h503", "hdead"):
            poll(lambda mid=mid: collector.matching(monitor_id=mid), 10, f"a sample from {mid}")
        closed = collector.matching(monitor_id="closed")[0]
        assert closed["name"] == "net_response"
        assert closed["fields"]["result_code"] == 2 and closed["fields"]["response_time"] >= 0
        assert closed["tags"] == {"server": "127.0.0.1", "port": str(closed_port), "protocol": "tcp",
                                  "result": "connection_failed", "monitor_id": "closed"}
        assert isinstance(closed["timestamp"], int) and abs(closed["timestamp"] / 1000 - time.time()) < 30
        assert collector.matching(monitor_id="open")[0]["fields"]["result_code"] == 0
        ok = collector.matching(monitor_id="http")[0]
        assert ok["name"] == "http_response"
        assert ok["tags"]["server"] == f"{web}/ok" and ok["tags"]["method"] == "GET"
        assert ok["tags"]["result"] == "success"
        assert ok["fields"]["result_code"] == 0 and ok["fields"]["http_response_code"] == 200
        down = collector.matching(monitor_id="h503")[0]["fields"]
        assert (down["result_code"], down["http_response_code"]) == (0, 503)
        assert collector.matching(monitor_id="hdead")[0]["fields"]["result_code"] == 3

        # interval ticks: a second sample arrives about one interval later, not a burst
        poll(lambda: len(collector.matching(monitor_id="open")) >= 2, 5, "a second tick")
        first, second = collector.matching(monitor_id="open")[:2]
        assert 500 <= second["timestamp"] - first["timestamp"] <= 2500

        # SIGHUP: reload the config served at the same URL
        ops["new"] = op("new", {"type": "net_response", "address": f"127.0.0.1:{open_port}"}, 1,
                        monitor_id="after-reload")
        server.content = render_telegraf(ops, collector.address, max_flush_interval=0.2)
        proc.send_signal(signal.SIGHUP)
        poll(lambda: collector.matching(monitor_id="after-reload"), 10, "a sample after SIGHUP")

        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0
        assert time.monotonic() - t0 < 3, "SIGTERM must stop the agent promptly"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        server.close()
        collector.close()
        listener.close()
    assert server.token not in stderr


def test_standin_refuses_without_config_and_reports_version(telegraf_exe: Path) -> None:
    assert subprocess.run([str(telegraf_exe)], capture_output=True, timeout=10).returncode == 2
    out = subprocess.run([str(telegraf_exe), "--version"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and "Telegraf" in out.stdout


def test_net_response_send_expect_codes() -> None:
    """In-process check of the probe function (the script is stdlib-only, so importable)."""
    from sandbox.salus.agent.telegraf import net_response

    def serve_once(reply: bytes | None) -> socket.socket:
        srv = socket.create_server(("127.0.0.1", 0))

        def run() -> None:
            conn, _ = srv.accept()
            with conn:
                conn.recv(100)
                if reply is not None:
                    conn.sendall(reply)
                    return
                threading.Event().wait(1.0)       # say nothing until the prober gives up
        threading.Thread(target=run, daemon=True).start()
        return srv

    for reply, code, result in ((b"+PONG\r\n", 0, "success"), (b"-ERR\r\n", 4, "string_mismatch"),
                                (None, 3, "read_failed")):
        srv = serve_once(reply)
        tags, fields = net_response({"address": f"127.0.0.1:{srv.getsockname()[1]}", "send": "PING\r\n",
                                     "expect": "PONG", "read_timeout": "0.2s", "timeout": "1s"})
        srv.close()
        assert (fields["result_code"], tags["result"]) == (code, result)


# ------------------------------------------------------------------------------ telegraf's timing and output
class Stderr:
    """Reads a child's stderr lines in the background (telegraf logs there)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        for raw in proc.stderr or []:
            self.lines.append(raw.decode(errors="replace"))

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))


class TimedCollector(Collector):
    """Also records when each line arrived: flushes show up as bursts."""

    def _read(self, conn: socket.socket) -> None:
        with conn:
            for line in iter_lines(conn):
                item = json.loads(line)
                item["_arrived"] = time.monotonic()
                self.seen.append(item)


def _start(telegraf_exe: Path, server: ConfigServer) -> subprocess.Popen:
    return subprocess.Popen([str(telegraf_exe), "--config", server.url],
                            env=dict(os.environ, INFLUX_TOKEN=server.token), cwd=str(telegraf_exe.parent),
                            stderr=subprocess.PIPE)


def test_standin_says_it_loaded_its_inputs_on_start_and_on_every_reload(telegraf_exe: Path) -> None:
    """The real envoy waits for ``Loaded inputs:`` before it counts telegraf as started."""
    collector = Collector()
    server = ConfigServer()
    server.content = render_telegraf({"a": op("a", {"type": "net_response", "address": f"127.0.0.1:{free_port()}"})},
                                     collector.address)
    proc = _start(telegraf_exe, server)
    err = Stderr(proc)
    try:
        poll(lambda: err.count("Loaded inputs: internal net_response") == 1, 10, "the startup line",
             lambda: "".join(err.lines))
        proc.send_signal(signal.SIGHUP)
        poll(lambda: err.count("Loaded inputs:") == 2, 10, "the startup line after SIGHUP", lambda: "".join(err.lines))
    finally:
        proc.terminate()
        proc.wait(5)
        server.close()
        collector.close()


def test_standin_writes_on_the_flush_schedule_not_per_gather(telegraf_exe: Path) -> None:
    """flush_interval 2 s, no jitter, 1 s gathers: metrics arrive in bursts 2 s apart, with
    gather times rounded to whole seconds (round_interval, precision) — honest local timing."""
    collector = TimedCollector()
    server = ConfigServer()
    ops = {"a": op("a", {"type": "net_response", "address": f"127.0.0.1:{free_port()}"}, 1, monitor_id="a")}
    server.content = render_telegraf(ops, collector.address, max_flush_interval=2).replace(
        'flush_jitter = "2s"', 'flush_jitter = "0s"')
    proc = _start(telegraf_exe, server)
    try:
        poll(lambda: len(collector.matching(monitor_id="a")) >= 5, 15, "five samples")
    finally:
        proc.terminate()
        proc.wait(5)
        server.close()
        collector.close()
    samples = collector.matching(monitor_id="a")
    assert all(s["timestamp"] % 1000 == 0 for s in samples), [s["timestamp"] for s in samples]
    bursts: list[list[dict[str, Any]]] = []
    for s in samples:
        if bursts and s["_arrived"] - bursts[-1][-1]["_arrived"] < 0.3:
            bursts[-1].append(s)
        else:
            bursts.append([s])
    gaps = [b[0]["_arrived"] - a[0]["_arrived"] for a, b in itertools.pairwise(bursts)]
    assert gaps and all(1.7 <= g <= 2.5 for g in gaps), gaps
    assert max(len(b) for b in bursts) >= 2, "a flush carries every sample gathered since the last one"


def test_every_flush_waits_a_random_part_of_the_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """telegraf's output ticker delays each tick by rand(0, flush_jitter) (the envoy sets 2 s)."""
    from sandbox.salus.agent import telegraf

    draws: list[tuple[float, float]] = []

    def uniform(a: float, b: float) -> float:
        draws.append((a, b))
        return 0.3
    monkeypatch.setattr(telegraf.random, "uniform", uniform)

    class Out:
        def __init__(self) -> None:
            self.batch_ready = threading.Event()
            self.at: list[float] = []

        def flush(self) -> None:
            self.at.append(time.monotonic())
    out, stop = Out(), threading.Event()
    t = threading.Thread(target=telegraf.Agent.run_flush, args=(out, 0.1, 2.0, False, stop), daemon=True)
    t.start()
    poll(lambda: len(out.at) >= 4, 5, "four flushes")
    stop.set()
    out.batch_ready.set()
    t.join(2)
    gaps = [b - a for a, b in itertools.pairwise(out.at)]
    assert draws and all(d == (0, 2.0) for d in draws)
    assert all(0.28 <= g <= 0.45 for g in gaps[:3]), gaps


def test_internal_input_reports_the_agent() -> None:
    from sandbox.salus.agent.telegraf import Agent, Output

    out = Output("tcp://127.0.0.1:9")
    Agent("http://unused").gather("internal", {"collect_memstats": False}, out)
    [line] = [json.loads(b) for b in out.buffer]
    assert line["name"] == "internal_agent" and {"metrics_gathered", "metrics_written"} <= set(line["fields"])
