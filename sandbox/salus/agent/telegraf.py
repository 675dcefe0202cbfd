"""telegraf stand-in: runs net_response and http_response inputs for real and writes telegraf JSON.

Shipped inside the sandbox's release tarball as ``./telegraf/telegraf`` and run by the envoy
stand-in exactly like telegraf: ``telegraf --config <url>`` with ``INFLUX_TOKEN`` set, the config
(TOML) fetched over HTTP, output to ``[[outputs.socket_writer]]`` as JSON lines, SIGHUP reloads.
Standard library only: it runs from the tarball with the sandbox's interpreter.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request

# telegraf result codes (plugins/inputs/net_response, http_response READMEs)
NET_SUCCESS, NET_TIMEOUT, NET_CONN_FAILED = 0, 1, 2
HTTP_SUCCESS, HTTP_CONN_FAILED, HTTP_TIMEOUT = 0, 3, 4


def _seconds(value: object, default: float) -> float:
    if value is None:
        return default
    s = str(value).strip()
    for suffix, mult in (("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)):
        if s.endswith(suffix):
            try:
                return float(s[: -len(suffix)]) * mult
            except ValueError:
                return default
    try:
        return float(s)
    except ValueError:
        return default


def net_response(cfg: dict) -> tuple[dict, dict]:
    host, _, port = str(cfg.get("address", "")).rpartition(":")
    tags = {"server": host, "port": port, "protocol": cfg.get("protocol", "tcp")}
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, int(port)), timeout=_seconds(cfg.get("timeout"), 1.0)):
            pass
        code, result = NET_SUCCESS, "success"
    except socket.timeout:
        code, result = NET_TIMEOUT, "timeout"
    except OSError:
        code, result = NET_CONN_FAILED, "connection_failed"
    fields = {"result_code": code, "response_time": time.monotonic() - t0}
    return {**tags, "result": result}, fields


def http_response(cfg: dict, url: str) -> tuple[dict, dict]:
    method = cfg.get("method", "GET")
    tags = {"server": url, "method": method}
    t0 = time.monotonic()
    fields: dict = {}
    try:
        req = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(req, timeout=_seconds(cfg.get("response_timeout"), 5.0)) as resp:
            fields["http_response_code"] = resp.status
        code, result = HTTP_SUCCESS, "success"
    except urllib.error.HTTPError as e:
        fields["http_response_code"] = e.code
        code, result = HTTP_SUCCESS, "success"
    except (socket.timeout, TimeoutError):
        code, result = HTTP_TIMEOUT, "timeout"
    except (urllib.error.URLError, OSError):
        code, result = HTTP_CONN_FAILED, "connection_failed"
    fields.update(result_code=code, response_time=time.monotonic() - t0)
    return {**tags, "result": result}, fields


class Agent:
    def __init__(self, config_url: str) -> None:
        self.config_url = config_url
        self.stop = threading.Event()
        self.reload = threading.Event()
        self.out: socket.socket | None = None
        self.out_addr: tuple[str, int] | None = None
        self.lock = threading.Lock()

    def load(self) -> dict:
        req = urllib.request.Request(self.config_url,
                                     headers={"Authorization": f"Token {os.environ.get('INFLUX_TOKEN', '')}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return tomllib.loads(resp.read().decode())

    def emit(self, name: str, tags: dict, fields: dict) -> None:
        line = json.dumps({"fields": fields, "name": name, "tags": tags,
                           "timestamp": int(time.time() * 1000)}) + "\n"
        with self.lock:
            for _ in range(2):
                try:
                    if self.out is None and self.out_addr:
                        self.out = socket.create_connection(self.out_addr, timeout=2)
                    if self.out is not None:
                        self.out.sendall(line.encode())
                    return
                except OSError:
                    if self.out is not None:
                        self.out.close()
                    self.out = None

    def run_input(self, kind: str, cfg: dict, stop: threading.Event) -> None:
        interval = _seconds(cfg.get("interval"), 10.0)
        extra = {str(k): str(v) for k, v in (cfg.get("tags") or {}).items()}
        next_at = time.monotonic()
        while not stop.is_set() and not self.stop.is_set():
            if kind == "net_response":
                tags, fields = net_response(cfg)
                self.emit(kind, {**tags, **extra}, fields)
            else:
                for url in cfg.get("urls") or []:
                    tags, fields = http_response(cfg, url)
                    self.emit(kind, {**tags, **extra}, fields)
            next_at += interval
            stop.wait(max(0.0, next_at - time.monotonic()))

    def serve(self) -> int:
        while not self.stop.is_set():
            try:
                conf = self.load()
            except Exception as e:
                print(f"E! could not load config: {e}", file=sys.stderr, flush=True)
                if self.stop.wait(1):
                    break
                continue
            outs = (conf.get("outputs") or {}).get("socket_writer") or []
            if outs:
                addr = str(outs[0].get("address", "")).split("://", 1)[-1]
                host, _, port = addr.rpartition(":")
                self.out_addr = (host, int(port))
            gen_stop = threading.Event()
            workers = []
            for kind in ("net_response", "http_response"):
                for cfg in (conf.get("inputs") or {}).get(kind) or []:
                    t = threading.Thread(target=self.run_input, args=(kind, cfg, gen_stop), daemon=True)
                    t.start()
                    workers.append(t)
            print(f"I! loaded {len(workers)} inputs", file=sys.stderr, flush=True)
            while not self.stop.is_set() and not self.reload.is_set():
                self.stop.wait(0.2) if not self.reload.wait(0.2) else None
            self.reload.clear()
            gen_stop.set()
            for t in workers:
                t.join(2)
        return 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--version"] or args[:1] == ["version"]:
        print("Telegraf 1.13.2 (e2et stand-in)")
        return 0
    if "--config" not in args:
        print("usage: telegraf --config <url>", file=sys.stderr)
        return 2
    agent = Agent(args[args.index("--config") + 1])
    signal.signal(signal.SIGHUP, lambda *_: agent.reload.set())
    signal.signal(signal.SIGTERM, lambda *_: agent.stop.set())
    signal.signal(signal.SIGINT, lambda *_: agent.stop.set())
    return agent.serve()


if __name__ == "__main__":
    sys.exit(main())
