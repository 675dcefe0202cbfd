"""Agent side of the envoy stand-in: install layout, in-memory telegraf config, the agent process.

Layout (contract §5.5): ``<dataPath>/agents/<TYPE>/<version>/bin/<basename(exe)>`` holding only the
tar entry named exactly ``exe``, plus ``<dataPath>/agents/<TYPE>/CURRENT`` → ``<version>``.
Telegraf's config is never written to disk: it is served from a loopback URL guarded by a token.
Telegraf runs as the real envoy runs it (``agents/telegraf.go``, ``command_handler.go``):
``CURRENT/bin/telegraf --config <url>`` relative to the agent's directory, started only once its
``Loaded inputs:`` line appeared (within 10 s), reloaded with SIGHUP, and configured with the
main config the real envoy renders (``agents.defaultMonitoringInterval``, ``flush_interval`` =
``agents.maxFlushInterval``, ``flush_jitter = "2s"``, ``[[inputs.internal]]``).
"""
from __future__ import annotations

import http.server
import json
import logging
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import IO, Any

from support.durations import format_go

log = logging.getLogger("envoy.agents")
#: What telegraf prints once its inputs are running, and how long the real envoy waits for it.
STARTUP_LINE = "Loaded inputs:"
STARTUP_TIMEOUT = 10.0
#: Telegraf's path inside the agent's directory (the real ``exePath``: relative on purpose).
EXE_PATH = os.path.join("CURRENT", "bin", "telegraf")


def install_agent(data_path: Path, agent_type: str, version: str, url: str, exe: str) -> Path:
    """Download the release tarball, extract exactly the ``exe`` entry and point CURRENT at it.

    Like the real ``ProcessInstall``: a version already on disk is neither downloaded again nor
    made CURRENT (only a fresh download moves the link), and a failed download leaves no version dir.
    """
    type_dir = data_path / "agents" / agent_type
    version_dir = type_dir / version
    target = version_dir / "bin" / Path(exe).name
    if version_dir.exists():
        log.info("%s %s already installed", agent_type, version)
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as tmp:
            with urllib.request.urlopen(url, timeout=30) as resp:
                shutil.copyfileobj(resp, tmp)
            tmp.seek(0)
            with tarfile.open(fileobj=tmp, mode="r:gz") as tar:
                member = next((m for m in tar.getmembers() if m.name == exe and m.isfile()), None)
                if member is None:
                    raise FileNotFoundError(f"release has no entry named exactly {exe!r}")
                src = tar.extractfile(member)
                with open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
        target.chmod(0o755)
        current = type_dir / "CURRENT"
        tmp_link = type_dir / f".CURRENT.{os.getpid()}"
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        tmp_link.symlink_to(version)
        os.replace(tmp_link, current)
    except Exception:
        shutil.rmtree(version_dir, ignore_errors=True)
        raise
    log.info("installed %s %s at %s", agent_type, version, target)
    return target


def _toml_key(k: Any) -> str:
    k = str(k)
    return k if k and all(c.isalnum() or c in "_-" for c in k) else json.dumps(k)


def _toml_value(v: Any) -> str:
    """One TOML value; JSON string escaping is valid TOML basic-string escaping."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v))


def render_telegraf(ops: dict[str, dict[str, Any]], ingest_bind: str, default_interval: float = 60.0,
                    max_flush_interval: float = 60.0) -> str:
    """The real envoy's main config + one ``[[inputs.<type>]]`` per configure op (its converters)."""
    lines = ["[agent]", f'  interval = "{format_go(default_interval)}"',
             f'  flush_interval = "{format_go(max_flush_interval)}"', '  flush_jitter = "2s"',
             "  omit_hostname = true", "",
             "[[outputs.socket_writer]]", f'  address = "tcp://{ingest_bind}"',
             '  data_format = "json"', '  json_timestamp_units = "1ms"', "",
             "[[inputs.internal]]", "  collect_memstats = false", ""]
    for op in ops.values():
        try:
            content = json.loads(op["content"])
            kind = str(content.pop("type"))
        except (ValueError, KeyError, TypeError, AttributeError):
            # The real envoy rejects such an op alone; one bad monitor must not stop the others.
            log.warning("config op %s has no usable telegraf content; skipped", op.get("id"))
            continue
        lines.append(f"[[inputs.{kind}]]")
        for k, v in content.items():
            if v is not None:
                lines.append(f"  {_toml_key(k)} = {_toml_value(v)}")
        if op.get("interval"):
            lines.append(f'  interval = "{int(op["interval"])}s"')
        if op.get("extraLabels"):
            lines.append(f"  [inputs.{kind}.tags]")
            for k, v in op["extraLabels"].items():
                lines.append(f"    {_toml_key(k)} = {_toml_value(v)}")
        lines.append("")
    return "\n".join(lines)


class ConfigServer:
    """Serves the in-memory telegraf config at ``/<server id>`` to ``Authorization: Token <token>``
    (id and token differ, as in the real envoy: the URL appears in telegraf's log, the token never)."""

    def __init__(self) -> None:
        self.token = str(uuid.uuid4())
        self.server_id = str(uuid.uuid4())
        self.content = ""
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != f"/{outer.server_id}" or self.headers.get("Authorization") != f"Token {outer.token}":
                    self.send_error(401)
                    return
                body = outer.content.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/toml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{self.server_id}"
        # a short poll interval: stopping the envoy waits for it (the default 0.5 s per server adds up)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="agent-config").start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class TelegrafRunner:
    """Runs ``CURRENT/bin/telegraf --config <url>`` once it has a binary and at least one input."""

    def __init__(self, data_path: Path, ingest_bind: str, termination_timeout: float = 5.0,
                 restart_delay: float = 1.0, default_interval: float = 60.0, max_flush_interval: float = 60.0,
                 startup_timeout: float = STARTUP_TIMEOUT) -> None:
        self.base = data_path / "agents" / "TELEGRAF"
        self.ingest_bind = ingest_bind
        self.termination_timeout = termination_timeout
        self.restart_delay = restart_delay
        self.default_interval = default_interval
        self.max_flush_interval = max_flush_interval
        self.startup_timeout = startup_timeout
        self.ops: dict[str, dict[str, Any]] = {}
        self.server = ConfigServer()
        self.server.content = self.render()
        self.proc: subprocess.Popen | None = None
        self._running_target = ""
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        threading.Thread(target=self._watch, daemon=True, name="telegraf-watch").start()

    def render(self) -> str:
        return render_telegraf(self.ops, self.ingest_bind, self.default_interval, self.max_flush_interval)

    def listen_at(self, address: str) -> None:
        """The envoy's ingest listener is bound: telegraf's output goes to this address."""
        with self.lock:
            self.ingest_bind = address
            self.server.content = self.render()

    def apply(self, operations: list[dict[str, Any]]) -> None:
        with self.lock:
            for op in operations:
                if op["type"] == "REMOVE":
                    self.ops.pop(op["id"], None)
                else:
                    self.ops[op["id"]] = op
            self.server.content = self.render()
        self.ensure()

    def installed(self) -> None:
        """A (re)install happened: start telegraf if it can now run, or restart it when CURRENT
        moved to another version while it was running (the old binary must not keep running)."""
        with self.lock:
            proc = self.proc
            if proc is not None and proc.poll() is None and self._running_target != self._target():
                log.info("telegraf version changed; restarting")
                self._stop_locked()
        self.ensure(reload=False)

    def reset(self) -> None:
        """Detached: stop the agent and forget every config op (they are resent on re-attach)."""
        with self.lock:
            self.ops.clear()
            self.server.content = self.render()
            self._stop_locked()

    def _target(self) -> str:
        try:
            return os.readlink(self.base / "CURRENT")
        except OSError:
            return ""

    def binary(self) -> Path:
        return self.base / EXE_PATH

    def ensure(self, reload: bool = True) -> None:
        with self.lock:
            if self.stopping.is_set():
                return
            running = self.proc is not None and self.proc.poll() is None
            if running:
                if not self.ops:
                    self._stop_locked()
                elif reload:
                    self.proc.send_signal(signal.SIGHUP)
                return
            if self.ops and self.binary().exists():
                self._start_locked()

    def _start_locked(self) -> None:
        """Start telegraf and wait for its startup line, as the real envoy does. A telegraf that
        does not say it loaded its inputs in time is stopped again (the real envoy would leave it
        running unrecorded and start another on the next configure) and retried after restartDelay."""
        env = dict(os.environ, INFLUX_TOKEN=self.server.token)
        target = self._target()
        try:
            # relative to the agent's directory (cwd), like the real exePath: a relative
            # agents.dataPath must not be resolved twice
            proc = subprocess.Popen([EXE_PATH, "--config", self.server.url], cwd=str(self.base), env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            log.error("cannot start telegraf %s: %s", target, e)
            return
        loaded = threading.Event()
        for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            threading.Thread(target=_forward, args=(pipe, name, loaded), daemon=True,
                             name=f"telegraf-{name}").start()
        deadline = time.monotonic() + self.startup_timeout
        while not loaded.wait(0.02):
            if proc.poll() is not None or time.monotonic() >= deadline:
                why = ("command exited before seeing expected content" if proc.poll() is not None
                       else "failed to see expected content")
                log.warning("failed to start agent TELEGRAF %s: %s (%r)", target, why, STARTUP_LINE)
                _terminate(proc, self.termination_timeout)
                return
        self.proc, self._running_target = proc, target
        log.info("telegraf %s started (pid %s) with %d inputs", target, proc.pid, len(self.ops))

    def _watch(self) -> None:
        """Restart telegraf after restartDelay if it dies (or never started) while it should run."""
        while not self.stopping.wait(self.restart_delay):
            with self.lock:
                proc = self.proc
                if proc is not None and proc.poll() is not None:
                    log.warning("telegraf exited with %s; restarting", proc.returncode)
                    self.proc = None
            self.ensure(reload=False)

    def _stop_locked(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            _terminate(proc, self.termination_timeout)

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            self._stop_locked()
        self.server.close()


def _forward(pipe: IO[bytes] | None, name: str, loaded: threading.Event) -> None:
    """Telegraf's output goes to the envoy's log (as the real envoy logs it) until the pipe closes;
    its startup line sets ``loaded``."""
    if pipe is None:
        return
    with pipe:
        for raw in pipe:
            line = raw.decode(errors="replace").rstrip()
            log.info("telegraf %s: %s", name, line)
            if STARTUP_LINE in line:
                loaded.set()


def _terminate(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` (the real ``agents.terminationTimeout``)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(2)
