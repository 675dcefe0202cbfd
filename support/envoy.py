"""The envoy under test as a child process: own process group, run-scoped temp dir, logs kept,
stopped (its agents included) on every exit path.

The executable comes from the profile: a command or path, or a release tarball URL (the earlier
tool's ``envoy.tarball.*`` keys) downloaded into the run's temp dir.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import yaml

from .errors import ConfigError


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def envoy_command(settings: Any, workdir: Path) -> list[str]:
    env = settings.envoy
    if env.command:
        return list(env.command)
    if env.executable and Path(env.executable).exists():
        return [env.executable]
    url = env.tarball_url_darwin if sys.platform == "darwin" else env.tarball_url_linux
    if url:
        tarball = workdir / "envoy.tar.gz"
        with urllib.request.urlopen(url, timeout=60) as resp, open(tarball, "wb") as out:
            out.write(resp.read())
        with tarfile.open(tarball) as tar:
            member = next((m for m in tar.getmembers() if Path(m.name).name == "telemetry-envoy"), None)
            if member is None:
                raise ConfigError(f"envoy tarball {url} holds no telemetry-envoy executable: fix envoy.tarball_url")
            member.name = "telemetry-envoy"
            tar.extract(member, workdir, filter="data")
        exe = workdir / "telemetry-envoy"
        exe.chmod(0o755)
        return [str(exe)]
    raise ConfigError("no envoy executable: set envoy.executable, envoy.command or envoy.tarball_url_linux "
                      "in the profile")


class EnvoyProcess:
    def __init__(self, settings: Any, workdir: Path, resource_id: str, zone: str | None, auth_token: str,
                 labels: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.workdir = Path(workdir)
        self.resource_id = resource_id
        self.zone = zone
        self.data_path = self.workdir / "data"
        self.log_path = self.workdir / "envoy.log"
        self.config_path = self.workdir / "telemetry-envoy.yaml"
        self._auth_token = auth_token
        self.labels = labels or {}
        self.proc: subprocess.Popen | None = None
        self._log = None

    def _config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "resource_id": self.resource_id, "labels": self.labels, "auth_token": self._auth_token,
            "tls": {"auth_service": {"url": str(self.settings.auth_service.url).rstrip("/")}},
            "ambassador": {"address": self.settings.ambassador.address, "keepAliveInterval": "10s"},
            "agents": {"dataPath": str(self.data_path), "terminationTimeout": "2s"},
            "ingest": {"telegraf": {"json": {"bind": f"127.0.0.1:{_free_port()}"}}},
        }
        if self.zone:
            cfg["zone"] = self.zone
        cfg.update(self.settings.envoy.extra_config or {})
        return cfg

    def start(self) -> "EnvoyProcess":
        self.workdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(self._config(), fh)
        cmd = envoy_command(self.settings, self.workdir) + ["run", f"--config={self.config_path}"]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=str(Path(__file__).resolve().parents[1]))
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the group, wait, SIGKILL the group, then kill any descendant that escaped it."""
        proc = self.proc
        if proc is None:
            return
        try:
            descendants = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(3)
        for child in descendants:
            try:
                child.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(descendants, timeout=2)
        if self._log:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # contract §5.5 layout
    def agent_path(self, agent_type: str, version: str, exe: str) -> Path:
        return self.data_path / "agents" / agent_type / version / "bin" / Path(exe).name

    def current_link(self, agent_type: str) -> Path:
        return self.data_path / "agents" / agent_type / "CURRENT"

    def installed_agents(self) -> list[str]:
        root = self.data_path / "agents"
        if not root.exists():
            return []
        return sorted(str(p.relative_to(root)) for p in root.glob("*/*/bin/*"))
