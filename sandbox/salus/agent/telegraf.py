"""telegraf stand-in: runs net_response and http_response inputs for real and writes telegraf JSON.

Shipped inside the sandbox's release tarball as ``./telegraf/telegraf`` and run by the envoy
stand-in (or the real envoy) exactly like telegraf 1.13: ``telegraf --config <url>`` with
``INFLUX_TOKEN`` set, the config (TOML) fetched over HTTP, SIGHUP reloads, SIGTERM stops. What the
envoy and the platform can observe follows telegraf, so local timings are honest:

- each start prints ``Loaded inputs: …`` on stderr (the envoy waits up to 10 s for that line);
- ``[agent] round_interval`` (default true) aligns every input's first gather to its interval,
  then it gathers every interval; metric times are rounded to 1 s (the default precision);
- metrics are buffered and written to ``[[outputs.socket_writer]]`` on telegraf's flush schedule:
  a ticker of ``flush_interval`` whose every tick is delayed by a random ``0..flush_jitter``, an
  early flush when ``metric_batch_size`` metrics wait, and a final flush on reload and on stop;
- ``[[inputs.internal]]`` (which the envoy always configures) reports ``internal_agent``.

Standard library only: it runs from the tarball with the sandbox's interpreter.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request

VERSION = "1.13.2"
# telegraf result codes (plugins/inputs/net_response, http_response READMEs)
NET_SUCCESS, NET_TIMEOUT, NET_CONN_FAILED, NET_READ_FAILED, NET_STRING_MISMATCH = 0, 1, 2, 3, 4
HTTP_SUCCESS, HTTP_STRING_MISMATCH, HTTP_CONN_FAILED, HTTP_TIMEOUT = 0, 1, 3, 4
INPUTS = ("net_response", "http_response", "internal")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def _seconds(value: object, default: float) -> float:
    """A telegraf duration: a Go duration (``1m0s``, ``500ms``, ``2s``) or a number of seconds."""
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    s = str(value).strip()
    try:
        return float(s)
    except ValueError:
        pass
    parts = _PART.findall(s)
    if not parts or "".join(n + u for n, u in parts) != s:
        return default
    return sum(float(n) * _UNITS[u] for n, u in parts)


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


def log(level: str, text: str) -> None:
    """telegraf's log line shape on stderr: ``<RFC3339> I! text``."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} {level}! {text}", file=sys.stderr, flush=True)


class Output:
    """``[[outputs.socket_writer]]``: metrics wait in a buffer until a flush writes them, as JSON
    lines, on one TCP connection (reconnected when it breaks; a failed write keeps the batch)."""

    def __init__(self, address: str, batch_size: int = 1000, buffer_limit: int = 10000) -> None:
        host, _, port = address.split("://", 1)[-1].rpartition(":")
        self.address = (host, int(port))
        self.batch_size, self.buffer_limit = max(1, batch_size), max(1, buffer_limit)
        self.buffer: list[bytes] = []
        self.batch_ready = threading.Event()
        self.written = self.dropped = 0
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None

    def add(self, line: bytes) -> None:
        with self._lock:
            self.buffer.append(line)
            if len(self.buffer) > self.buffer_limit:
                self.dropped += len(self.buffer) - self.buffer_limit
                del self.buffer[:-self.buffer_limit]
            if len(self.buffer) >= self.batch_size:
                self.batch_ready.set()

    def flush(self) -> None:
        with self._lock:
            batch, self.buffer = self.buffer, []
            self.batch_ready.clear()
        if not batch:
            return
        try:
            if self._sock is None:
                self._sock = socket.create_connection(self.address, timeout=5)
            self._sock.sendall(b"".join(batch))
            self.written += len(batch)
        except OSError as e:
            log("E", f"[outputs.socket_writer] when writing to [{self.address[0]}:{self.address[1]}]: {e}")
            self.close()
            with self._lock:
                self.buffer[:0] = batch
                del self.buffer[:-self.buffer_limit]

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _align(every: float, stop: threading.Event) -> bool:
    """Sleep to the next multiple of ``every`` (telegraf's ``AlignDuration``); False when stopped."""
    now = time.time()
    rest = (-now) % every
    return not stop.wait(rest if rest > 1e-6 else 0)


class Agent:
    def __init__(self, config_url: str) -> None:
        self.config_url = config_url
        self.stop = threading.Event()
        self.reload = threading.Event()
        self.wake = threading.Event()
        self.gathered = 0
        self.errors = 0

    def load(self) -> dict:
        req = urllib.request.Request(self.config_url,
                                     headers={"Authorization": f"Token {os.environ.get('INFLUX_TOKEN', '')}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return tomllib.loads(resp.read().decode())

    def gather(self, kind: str, cfg: dict, out: Output) -> None:
        """One gather of one input; every metric goes into the output buffer."""
        extra = {str(k): str(v) for k, v in (cfg.get("tags") or {}).items()}
        if kind == "net_response":
            samples = [net_response(cfg)]
        elif kind == "http_response":
            # telegraf's default when no URL is configured (plugins/inputs/http_response)
            samples = [http_response(cfg, url) for url in cfg.get("urls") or ["http://localhost"]]
        else:
            samples = [({"version": VERSION}, {"metrics_gathered": self.gathered, "metrics_written": out.written,
                                               "metrics_dropped": out.dropped, "gather_errors": self.errors})]
            kind = "internal_agent"
        stamp = round(time.time()) * 1000          # precision: 1 s
        for tags, fields in samples:
            line = json.dumps({"fields": fields, "name": kind, "tags": {**tags, **extra}, "timestamp": stamp})
            out.add(line.encode() + b"\n")
            self.gathered += 1

    def run_input(self, kind: str, cfg: dict, every: float, aligned: bool, out: Output,
                  stop: threading.Event) -> None:
        """Gather at fixed ticks of ``every`` (the first one aligned when ``round_interval``); a
        gather slower than the interval skips the missed ticks instead of bursting to catch up."""
        if aligned and not _align(every, stop):
            return
        next_at = time.monotonic()
        while not stop.is_set():
            try:
                self.gather(kind, cfg, out)
            except Exception as e:  # noqa: BLE001 — like telegraf: count, log, keep gathering
                self.errors += 1
                log("E", f"[inputs.{kind}] Error in plugin: {e}")
            next_at += every
            now = time.monotonic()
            if next_at < now:
                next_at += every * ((now - next_at) // every + 1)
            stop.wait(next_at - now)

    @staticmethod
    def run_flush(out: Output, interval: float, jitter: float, aligned: bool, stop: threading.Event) -> None:
        """telegraf's output ticker: every ``interval`` a tick, each delayed by a random
        ``0..jitter`` (ticks that pass meanwhile are dropped), or earlier when a batch is full."""
        if aligned and not _align(interval, stop):
            return
        tick = time.monotonic()
        while not stop.is_set():
            tick += interval
            now = time.monotonic()
            if tick <= now:      # a tick passed while the last flush waited: it is taken at once
                tick += interval * ((now - tick) // interval)
            early = out.batch_ready.wait(max(0.0, tick - now))
            if stop.is_set():
                return
            if not early and stop.wait(random.uniform(0, jitter) if jitter > 0 else 0):
                return
            out.flush()

    def serve(self) -> int:
        """Load the config, run its inputs until SIGHUP (reload) or SIGTERM/SIGINT (exit)."""
        log("I", f"Starting Telegraf {VERSION}")
        while not self.stop.is_set():
            self.reload.clear()
            try:
                conf = self.load()
            except Exception as e:  # noqa: BLE001 — like telegraf: say why, retry, keep running
                log("E", f"[telegraf] Error running agent: Error loading config file {self.config_url}: {e}")
                self.stop.wait(1)
                continue
            code = self.run_generation(conf)
            if code:
                return code
        return 0

    def run_generation(self, conf: dict) -> int:
        agent = conf.get("agent") or {}
        every = _seconds(agent.get("interval"), 10.0)
        aligned = agent.get("round_interval", True) is not False
        inputs = []
        for kind, cfgs in (conf.get("inputs") or {}).items():        # config order, as telegraf lists them
            if kind not in INPUTS:
                log("W", f"[e2et stand-in] input {kind} is not implemented here; skipped")
                continue
            inputs += [(kind, cfg) for cfg in (cfgs if isinstance(cfgs, list) else [cfgs])]
        outs = (conf.get("outputs") or {}).get("socket_writer") or []
        if not inputs:
            log("E", "[telegraf] Error running agent: no inputs found, did you provide a valid config file?")
            return 1
        if not outs:
            log("E", "[telegraf] Error running agent: no outputs found, did you provide a valid config file?")
            return 1
        out = Output(str(outs[0].get("address", "")), int(agent.get("metric_batch_size", 1000)),
                     int(agent.get("metric_buffer_limit", 10000)))
        log("I", f"Loaded inputs: {' '.join(kind for kind, _ in inputs)}")
        log("I", "Loaded outputs: socket_writer")
        flush_every = _seconds(agent.get("flush_interval"), 10.0)
        log("I", f"[agent] Config: Interval:{every:g}s, Flush Interval:{flush_every:g}s")
        gen_stop = threading.Event()
        workers = [threading.Thread(target=self.run_input, daemon=True,
                                    args=(kind, cfg, _seconds(cfg.get("interval"), every), aligned, out, gen_stop))
                   for kind, cfg in inputs]
        workers.append(threading.Thread(target=self.run_flush, daemon=True,
                                        args=(out, flush_every, _seconds(agent.get("flush_jitter"), 0.0),
                                              aligned, gen_stop)))
        for t in workers:
            t.start()
        while not self.stop.is_set() and not self.reload.is_set():
            self.wake.wait(1.0)
            self.wake.clear()
        gen_stop.set()
        out.batch_ready.set()           # wakes the flush ticker at once
        for t in workers:
            t.join(2)
        log("I", "[agent] Hang on, flushing any cached metrics before shutdown")
        out.flush()
        out.close()
        if self.reload.is_set() and not self.stop.is_set():
            log("I", "Reloading Telegraf config")
        return 0

    def signal(self, reload: bool) -> None:
        """Signal handler body: only flips events (safe whatever the main thread is doing)."""
        (self.reload if reload else self.stop).set()
        self.wake.set()


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--version"] or args[:1] == ["version"]:
        print(f"Telegraf {VERSION} (e2et stand-in)")
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
