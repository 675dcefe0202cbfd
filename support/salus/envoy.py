"""The envoy under test as a child process: own process group, run-scoped temp dir, logs kept,
stopped (its agents included) on every exit path.

The executable comes from the profile: a command or path, or a release tarball URL (the earlier
tool's ``envoy.tarball.*`` keys) downloaded into the run's temp dir.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import threading
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, InfrastructureError
from ..net import free_port
from ..processes import stop_tree


def envoy_command(settings: Any, workdir: Path) -> list[str]:
    """The envoy's argv prefix: ``envoy.executable`` (path or name on PATH), ``envoy.command``, or a
    release tarball (``envoy.tarball_url[_linux|_darwin]``, Go-e2et's ``envoy.tarball.*``)
    downloaded and extracted into the run's temp dir."""
    env = settings.envoy
    # an executable (the user's choice: profile or E2ET_ENVOY__EXECUTABLE) beats a command
    if env.executable:
        found = env.executable if Path(env.executable).is_file() else shutil.which(env.executable)
        if found and os.access(found, os.X_OK):
            return [str(found)]
    if env.command:
        return list(env.command)
    url = (env.tarball_url_darwin if sys.platform == "darwin" else env.tarball_url_linux) or env.tarball_url
    if url:
        tarball = workdir / "envoy.tar.gz"
        try:
            with urllib.request.urlopen(url, timeout=60) as resp, open(tarball, "wb") as out:
                shutil.copyfileobj(resp, out)
        except OSError as e:
            raise InfrastructureError(f"envoy tarball {url} could not be downloaded ({e}): check "
                                      "envoy.tarball_url_linux / the network") from None
        with tarfile.open(tarball) as tar:
            member = next((m for m in tar.getmembers() if Path(m.name).name == "telemetry-envoy"), None)
            if member is None:
                raise ConfigError(f"envoy tarball {url} holds no telemetry-envoy executable: fix envoy.tarball_url")
            member.name = "telemetry-envoy"
            tar.extract(member, workdir, filter="data")
        exe = workdir / "telemetry-envoy"
        exe.chmod(0o755)
        return [str(exe)]
    if env.executable:
        raise ConfigError(f"envoy.executable {env.executable} is not an executable file: fix the path "
                          "(or set envoy.tarball_url_linux)")
    raise ConfigError("no envoy executable: set envoy.executable, envoy.command or envoy.tarball_url_linux "
                      "in the profile")


class EnvoyProcess:
    """One envoy child: config rendered from the profile, own process group, log file kept.

    Why a process group: the envoy starts agents (telegraf) as plain children without a
    parent-death signal, so killing only the envoy would orphan them (contract §5.1).
    """

    def __init__(self, settings: Any, workdir: Path, resource_id: str, zone: str | None, auth_token: str,
                 labels: dict[str, str] | None = None, keep_alive: str = "10s") -> None:
        self.settings = settings
        self.workdir = Path(workdir)
        self.resource_id = resource_id
        self.zone = zone
        self.data_path = self.workdir / "data"
        self.log_path = self.workdir / "envoy.log"
        self.config_path = self.workdir / "telemetry-envoy.yaml"
        self._auth_token = auth_token
        self.labels = labels or {}
        self.keep_alive = keep_alive
        self.ingest_bind = f"127.0.0.1:{free_port()}"
        self.proc: subprocess.Popen | None = None
        self._log: Any = None
        self._pgid: int | None = None
        self._stop_lock = threading.Lock()

    def __repr__(self) -> str:                     # the auth token stays out of reprs and logs
        return f"EnvoyProcess(resource_id={self.resource_id!r}, zone={self.zone!r}, pid={self.pid})"

    def _config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "resource_id": self.resource_id, "labels": self.labels, "auth_token": self._auth_token,
            "tls": {"auth_service": {"url": str(self.settings.auth_service.url).rstrip("/")}},
            "ambassador": {"address": self.settings.ambassador.address, "keepAliveInterval": self.keep_alive},
            "agents": {"dataPath": str(self.data_path), "terminationTimeout": "2s"},
            "ingest": {"telegraf": {"json": {"bind": self.ingest_bind}}},
        }
        if self.zone:
            cfg["zone"] = self.zone
        _deep_update(cfg, self.settings.envoy.extra_config or {})
        return cfg

    def start(self) -> EnvoyProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            yaml.safe_dump(self._config(), fh)
        cmd = [*envoy_command(self.settings, self.workdir), "run", f"--config={self.config_path}"]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 — the child writes to it until stop() closes it
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=str(Path(__file__).resolve().parents[2]))
        self._pgid = self.proc.pid          # start_new_session: the child leads its own group
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self, grace: float = 5.0) -> None:
        """Stop the envoy's whole tree (its process group and any agent that escaped it).

        Idempotent and thread-safe (cleanup stacks and signal paths may both call it).
        """
        with self._stop_lock:
            if self.proc is None or self._pgid is None:
                return
            stop_tree(self.proc, grace, pgid=self._pgid)
            if self._log:
                self._log.close()
                self._log = None
            self._pgid = None

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


def _deep_update(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = v
