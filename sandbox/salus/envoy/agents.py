"""Agent side of the envoy stand-in: install layout, in-memory telegraf config, the agent process.

Layout (contract §5.5): ``<dataPath>/agents/<TYPE>/<version>/bin/<basename(exe)>`` holding only the
tar entry named exactly ``exe``, plus ``<dataPath>/agents/<TYPE>/CURRENT`` → ``<version>``.
Telegraf's config is never written to disk: it is served from a loopback URL guarded by a token.
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
import urllib.request
import uuid
from pathlib import Path
from typing import Any

log = logging.getLogger("envoy.agents")


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


def render_telegraf(ops: dict[str, dict[str, Any]], ingest_bind: str) -> str:
    """Main config + one ``[[inputs.<type>]]`` per configure op (what envoy's converters produce)."""
    lines = ["[agent]", "  omit_hostname = true", "",
             "[[outputs.socket_writer]]", f'  address = "tcp://{ingest_bind}"',
             '  data_format = "json"', '  json_timestamp_units = "1ms"', ""]
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
    """Serves the in-memory telegraf config at ``/<token>`` with ``Authorization: Token <token>``."""

    def __init__(self) -> None:
        self.token = str(uuid.uuid4())
        self.content = ""
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != f"/{outer.token}" or self.headers.get("Authorization") != f"Token {outer.token}":
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
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{self.token}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True, name="agent-config").start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class TelegrafRunner:
    """Runs ``CURRENT/bin/telegraf --config <url>`` once it has a binary and at least one input."""

    def __init__(self, data_path: Path, ingest_bind: str, termination_timeout: float = 5.0,
                 restart_delay: float = 1.0) -> None:
        self.base = data_path / "agents" / "TELEGRAF"
        self.ingest_bind = ingest_bind
        self.termination_timeout = termination_timeout
        self.restart_delay = restart_delay
        self.ops: dict[str, dict[str, Any]] = {}
        self.server = ConfigServer()
        self.proc: subprocess.Popen | None = None
        self._running_target = ""
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        threading.Thread(target=self._watch, daemon=True, name="telegraf-watch").start()

    def apply(self, operations: list[dict[str, Any]]) -> None:
        with self.lock:
            for op in operations:
                if op["type"] == "REMOVE":
                    self.ops.pop(op["id"], None)
                else:
                    self.ops[op["id"]] = op
            self.server.content = render_telegraf(self.ops, self.ingest_bind)
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
            self.server.content = render_telegraf(self.ops, self.ingest_bind)
            self._stop_locked()

    def _target(self) -> str:
        try:
            return os.readlink(self.base / "CURRENT")
        except OSError:
            return ""

    def binary(self) -> Path:
        return self.base / "CURRENT" / "bin" / "telegraf"

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
                env = dict(os.environ, INFLUX_TOKEN=self.server.token)
                self._running_target = self._target()
                try:
                    self.proc = subprocess.Popen([str(self.binary()), "--config", self.server.url],
                                                 cwd=str(self.base), env=env, stdin=subprocess.DEVNULL)
                except OSError as e:
                    log.error("cannot start telegraf %s: %s", self._running_target, e)
                    return
                log.info("telegraf %s started (pid %s) with %d inputs", self._running_target,
                         self.proc.pid, len(self.ops))

    def _watch(self) -> None:
        """Restart telegraf after restartDelay if it dies while it should be running."""
        while not self.stopping.wait(self.restart_delay):
            with self.lock:
                proc = self.proc
                if proc is not None and proc.poll() is not None:
                    log.warning("telegraf exited with %s; restarting", proc.returncode)
                    self.proc = None
            self.ensure(reload=False)

    def _stop_locked(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(self.termination_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(2)

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            self._stop_locked()
        self.server.close()
