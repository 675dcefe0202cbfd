"""telegraf stand-in: runs net_response and http_response inputs for real and writes telegraf JSON.

Shipped inside the sandbox's release tarball as ``./telegraf/telegraf`` and run by the envoy
stand-in exactly like telegraf: ``telegraf --config <url>`` with ``INFLUX_TOKEN`` set, the config
(TOML) fetched over HTTP, output to ``[[outputs.socket_writer]]`` as JSON lines, SIGHUP reloads.
Standard library only: it runs from the tarball with the sandbox's interpreter.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request

# telegraf result codes (plugins/inputs/net_response, http_response READMEs)
NET_SUCCESS, NET_TIMEOUT, NET_CONN_FAILED, NET_READ_FAILED, NET_STRING_MISMATCH = 0, 1, 2, 3, 4
HTTP_SUCCESS, HTTP_STRING_MISMATCH, HTTP_CONN_FAILED, HTTP_TIMEOUT = 0, 1, 3, 4


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
    """One TCP probe: connect within ``timeout``; with ``send``/``expect`` also talk and match
    (read within ``read_timeout``), giving telegraf's read_failed / string_mismatch codes."""
    host, _, port = str(cfg.get("address", "")).rpartition(":")
    tags = {"server": host, "port": port, "protocol": cfg.get("protocol", "tcp")}
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, int(port)), timeout=_seconds(cfg.get("timeout"), 1.0)) as conn:
            code, result = NET_SUCCESS, "success"
            if cfg.get("send"):
                conn.sendall(str(cfg["send"]).encode())
            if cfg.get("expect"):
                conn.settimeout(_seconds(cfg.get("read_timeout"), 1.0))
                try:
                    data = conn.recv(65536).decode(errors="replace")
                except OSError:
                    code, result = NET_READ_FAILED, "read_failed"
                else:
                    if str(cfg["expect"]) not in data:
                        code, result = NET_STRING_MISMATCH, "string_mismatch"
    except TimeoutError:
        code, result = NET_TIMEOUT, "timeout"
    except (OSError, ValueError):
        code, result = NET_CONN_FAILED, "connection_failed"
    fields = {"result_code": code, "response_time": time.monotonic() - t0}
    return {**tags, "result": result}, fields


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """telegraf's http_response does not follow redirects unless ``follow_redirects = true``."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def http_response(cfg: dict, url: str) -> tuple[dict, dict]:
    method = str(cfg.get("method", "GET")).upper()
    tags = {"server": url, "method": method}
    t0 = time.monotonic()
    fields: dict = {}
    handlers = [] if cfg.get("follow_redirects") else [_NoRedirect()]
    opener = urllib.request.build_opener(*handlers)
    body = b""
    try:
        req = urllib.request.Request(url, method=method)
        with opener.open(req, timeout=_seconds(cfg.get("response_timeout"), 5.0)) as resp:
            fields["http_response_code"] = resp.status
            body = resp.read(1 << 20)
        code, result = HTTP_SUCCESS, "success"
    except urllib.error.HTTPError as e:
        # Any HTTP status is a successful probe for telegraf; the status is a field.
        fields["http_response_code"] = e.code
        code, result = HTTP_SUCCESS, "success"
    except TimeoutError:
        code, result = HTTP_TIMEOUT, "timeout"
    except urllib.error.URLError as e:
        if isinstance(e.reason, (socket.timeout, TimeoutError)):
            code, result = HTTP_TIMEOUT, "timeout"
        else:
            code, result = HTTP_CONN_FAILED, "connection_failed"
    except OSError:
        code, result = HTTP_CONN_FAILED, "connection_failed"
    fields["response_time"] = time.monotonic() - t0
    if code == HTTP_SUCCESS and cfg.get("response_string_match"):
        matched = re.search(str(cfg["response_string_match"]), body.decode(errors="replace")) is not None
        fields["response_string_match"] = 1 if matched else 0
        if not matched:
            code, result = HTTP_STRING_MISMATCH, "response_string_mismatch"
    fields["result_code"] = code
    return {**tags, "result": result}, fields


class Agent:
    def __init__(self, config_url: str) -> None:
        self.config_url = config_url
        self.stop = threading.Event()
        self.reload = threading.Event()
        self.wake = threading.Event()
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
        """Gather at fixed ticks of ``interval``; a probe slower than the interval skips the
        missed ticks instead of bursting to catch up (telegraf behaves the same)."""
        interval = max(0.05, _seconds(cfg.get("interval"), 10.0))
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
            now = time.monotonic()
            if next_at < now:
                next_at += interval * ((now - next_at) // interval + 1)
            stop.wait(next_at - now)

    def serve(self) -> int:
        """Load the config, run its inputs until SIGHUP (reload) or SIGTERM/SIGINT (exit)."""
        while not self.stop.is_set():
            self.reload.clear()
            try:
                conf = self.load()
            except Exception as e:  # noqa: BLE001 — like telegraf: say why, retry, keep running
                print(f"E! could not load config: {e}", file=sys.stderr, flush=True)
                self.stop.wait(1)
                continue
            outs = (conf.get("outputs") or {}).get("socket_writer") or []
            if outs:
                addr = str(outs[0].get("address", "")).split("://", 1)[-1]
                host, _, port = addr.rpartition(":")
                with self.lock:
                    if self.out_addr != (host, int(port)) and self.out is not None:
                        self.out.close()
                        self.out = None
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
                self.wake.wait(1.0)
                self.wake.clear()
            gen_stop.set()
            for t in workers:
                t.join(2)
        return 0

    def signal(self, reload: bool) -> None:
        """Signal handler body: only flips events (safe whatever the main thread is doing)."""
        (self.reload if reload else self.stop).set()
        self.wake.set()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--version"] or args[:1] == ["version"]:
        print("Telegraf 1.13.2 (e2et stand-in)")
        return 0
    url = next((a.split("=", 1)[1] for a in args if a.startswith("--config=")), None)
    if url is None and "--config" in args[:-1]:
        url = args[args.index("--config") + 1]
    if not url:
        print("usage: telegraf --config <url>", file=sys.stderr)
        return 2
    agent = Agent(url)
    signal.signal(signal.SIGHUP, lambda *_: agent.signal(reload=True))
    signal.signal(signal.SIGTERM, lambda *_: agent.signal(reload=False))
    signal.signal(signal.SIGINT, lambda *_: agent.signal(reload=False))
    return agent.serve()


if __name__ == "__main__":
    sys.exit(main())
