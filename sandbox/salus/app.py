"""Wiring of the Salus sandbox: broker, domain, HTTP services, ambassador, presence, event engine
and the public-zone poller, started in dependency order and stopped in reverse.

``SalusSandbox`` is the importable API; ``python -m sandbox.salus up`` (and ``e2et sandbox up``)
run it in the foreground and write a profile file the suite loads.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from . import faults as F
from . import topics
from .config import SandboxConfig
from .context import SandboxContext
from .faults import Faults
from .seed import goarch

log = logging.getLogger("sandbox.salus")

RELEASE_EXE = "./telegraf/telegraf"
#: flush_jitter the real envoy renders into telegraf's config (agents/telegraf.go), not configurable
FLUSH_JITTER_S = 2.0


def goos() -> str:
    return {"linux": "linux", "darwin": "darwin", "win32": "windows"}.get(sys.platform, sys.platform)


class _HttpHost:
    """Runs several aiohttp applications, one port each, on one event loop in a thread."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="sandbox-http", daemon=True)
        self._runners: list[web.AppRunner] = []
        self._thread.start()

    def serve(self, app: web.Application, port: int) -> int:
        async def _start() -> int:
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, self.host, port, reuse_address=True)
            await site.start()
            self._runners.append(runner)
            return runner.addresses[0][1]
        return asyncio.run_coroutine_threadsafe(_start(), self.loop).result(10)

    def stop(self) -> None:
        async def _stop() -> None:
            for r in reversed(self._runners):
                await r.cleanup()
        try:
            asyncio.run_coroutine_threadsafe(_stop(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)


class SalusSandbox:
    """A complete local Salus. ``start()`` returns the profile dict the suite consumes."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._owns_data_dir = self.config.data_dir is None
        data_dir = Path(self.config.data_dir or tempfile.mkdtemp(prefix="e2et-sandbox-"))
        data_dir.mkdir(parents=True, exist_ok=True)
        self.ctx = SandboxContext(config=self.config, faults=Faults(), data_dir=data_dir)
        self.broker: Any = None
        self._http: _HttpHost | None = None
        self._ambassador: Any = None
        self._presence: Any = None
        self._engine: Any = None
        self._poller: subprocess.Popen | None = None
        self._poller_log: Any = None
        self.profile: dict[str, Any] = {}
        self._stopped = False

    # ----------------------------------------------------------------------------- start
    def start(self) -> dict[str, Any]:
        t0 = time.monotonic()
        try:
            self._start_broker()
            self._start_services()
            self._start_engines()
            if self.config.public_poller:
                self._start_public_pollers()
            for name, param in self.config.faults.items():
                self.ctx.faults.enable(name, param)
        except BaseException:
            self.stop()
            raise
        log.info("sandbox ready in %.2fs", time.monotonic() - t0)
        return self.profile

    def _start_broker(self) -> None:
        from sandbox.common.kafka_bus import KafkaBus
        from sandbox.kafka import Broker

        self.broker = Broker(host=self.config.host, port=self.config.ports.kafka,
                             log_path=self.ctx.data_dir / "broker.log")
        self.broker.start()
        self.broker.create_topics(self._topics(), self.config.partitions)
        self.ctx.bus = KafkaBus(self.broker.bootstrap)
        self.ctx.faults.on_change(self._on_fault)

    def _topics(self) -> list[str]:
        names = list(topics.ALL_TOPICS)
        if self.config.event_topic not in names:
            names.append(self.config.event_topic)
        return names

    def _on_fault(self, name: str, enabled: bool, param: Any) -> None:
        """The broker fault acts on a process, not a code path: stop it, or bring it back."""
        if name != F.BROKER_STOPPED:
            return
        if enabled:
            numeric = isinstance(param, (int, float)) or str(param or "").replace(".", "", 1).isdigit()
            delay = float(param) if numeric else 0.0
            if delay > 0:
                # "mid-run": the switch is thrown before a run starts, the broker dies during it
                log.warning("fault %s: stopping the broker in %.1fs", name, delay)
                timer = threading.Timer(delay, self._stop_broker_if_faulted)
                timer.daemon = True
                timer.start()
            else:
                log.warning("fault %s: stopping the broker", name)
                self.broker.stop()
        else:
            log.warning("fault %s cleared: restarting the broker", name)
            self.broker.restart()
            self.broker.create_topics(self._topics(), self.config.partitions)
            reconnect = getattr(self.ctx.bus, "reconnect", None)
            if reconnect:
                reconnect()

    def _stop_broker_if_faulted(self) -> None:
        if self.ctx.faults.active(F.BROKER_STOPPED):
            log.warning("fault %s: stopping the broker now", F.BROKER_STOPPED)
            self.broker.stop()

    def _start_services(self) -> None:
        from .ambassador import Ambassador
        from .domain import SalusDomain
        from .http import build_apps
        from .http.downloads import build_downloads_app
        from .pki import Pki
        from .releases import build_telegraf_release
        from .seed import seed

        cfg = self.config
        self.ctx.pki = Pki(self.ctx.data_dir / "pki")
        self.ctx.domain = SalusDomain(self.ctx)
        releases_dir = self.ctx.data_dir / "releases"
        releases_dir.mkdir(exist_ok=True)

        self._http = _HttpHost(cfg.host)
        ports = cfg.ports
        dl_port = self._http.serve(build_downloads_app(releases_dir), ports.downloads)
        base = f"http://{cfg.host}"
        self.ctx.urls["downloads"] = f"{base}:{dl_port}"

        def release_url_for(agent_type: str, version: str, plat: str) -> str:
            path = build_telegraf_release(releases_dir, version, plat)
            return f"{base}:{dl_port}/releases/{path.name}"

        apps = build_apps(self.ctx)
        for name in ("identity", "public_api", "admin_api", "auth_service"):
            port = self._http.serve(apps[name], getattr(ports, name))
            self.ctx.urls[name] = f"{base}:{port}"
        seed(self.ctx.domain, self.ctx, release_url_for)

        server_cert, server_key = self.ctx.pki.server_cert([cfg.host, "localhost"])
        self.ctx.extra["ambassador_server_cert"] = (server_cert, server_key)
        self._ambassador = Ambassador(self.ctx)
        amb_port = self._ambassador.start(cfg.host, ports.ambassador)
        self.ctx.urls["ambassador"] = f"{cfg.host}:{amb_port}"
        self.ctx.extra["release"] = self._current_release(release_url_for)

    def _current_release(self, release_url_for: Any) -> dict[str, Any]:
        version = "1.13.2"
        return {"type": "TELEGRAF", "version": version, "exe": RELEASE_EXE,
                "url": release_url_for("TELEGRAF", version, f"{goos()}-{goarch()}")}

    def _start_engines(self) -> None:
        from .event_engine import EventEngine
        from .presence import PresenceMonitor

        self._presence = PresenceMonitor(self.ctx)
        self._presence.start()
        self._engine = EventEngine(self.ctx, self.broker.bootstrap)
        self._engine.start()

    def _start_public_pollers(self) -> None:
        """One envoy stand-in per public zone, owned by the public-zone tenant, as a region has."""
        cfg = self.config
        poller_dir = self.ctx.data_dir / "poller"
        poller_dir.mkdir(exist_ok=True)
        token = self.ctx.domain.tokens.create(cfg.public_zone_tenant, "sandbox public poller")["token"]
        zone = cfg.public_zones[0].name
        conf = {
            "resource_id": "public-poller-" + zone.split("/", 1)[1].replace("_", "-"),
            "zone": zone,
            "auth_token": token,
            "tls": {"auth_service": {"url": self.ctx.urls["auth_service"]}},
            "ambassador": {"address": self.ctx.urls["ambassador"]},
            "agents": {"dataPath": str(poller_dir / "data"), "maxFlushInterval": f"{cfg.envoy_max_flush_interval}s"},
            "ingest": {"telegraf": {"json": {"bind": f"{cfg.host}:0"}}},
        }
        conf_path = poller_dir / "telemetry-envoy.yaml"
        conf_path.write_text(yaml.safe_dump(conf))
        os.chmod(conf_path, 0o600)
        self._poller_log = open(poller_dir / "envoy.log", "ab")  # noqa: SIM115 — open while the poller runs; stop()
        self._poller = subprocess.Popen(
            [sys.executable, "-m", "sandbox.salus.envoy.cli", "run", f"--config={conf_path}"],
            stdout=self._poller_log, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=str(Path(__file__).resolve().parents[2]))

    # ----------------------------------------------------------------------------- profile
    def profile_dict(self) -> dict[str, Any]:
        cfg, urls = self.config, self.ctx.urls
        regular = cfg.user("e2et-regular")
        admin = cfg.user("e2et-admin")
        return {
            "profile": "local",
            "tenant": {"id": cfg.tenant_id, "dedicated": True, "account_type": cfg.account_type},
            "identity": {"url": f"{urls['identity']}/v2.0/"},
            "regular": {"username": regular.username,
                        "api_key": regular.api_key.get_secret_value() if regular.api_key else None},
            "admin": {"username": admin.username,
                      "password": admin.password.get_secret_value() if admin.password else None,
                      "api_key": admin.api_key.get_secret_value() if admin.api_key else None},
            "public_api": {"url": f"{urls['public_api']}/v1.0/"},
            "admin_api": {"url": f"{urls['admin_api']}/"},
            "auth_service": {"url": urls["auth_service"]},
            "ambassador": {"address": urls["ambassador"]},
            "kafka": {"brokers": [self.broker.bootstrap], "security_protocol": "PLAINTEXT",
                      "stale_record_guard": 2},
            "topics": {"metrics": topics.METRICS, "attaches": topics.ATTACHES},
            **self.budgets(),
            "agent_release": self.ctx.extra["release"],
            # an executable only (no command): a user's envoy.executable / E2ET_ENVOY__EXECUTABLE wins
            "envoy": {"executable": str(self.envoy_launcher()), "max_flush_interval": cfg.envoy_max_flush_interval},
            "zones": {"public": cfg.public_zones[0].name},
            "monitors": {"interval": max(1, cfg.min_monitor_interval), "probe_host": cfg.host},
            "http": {"timeout": 5},
            "sandbox": {"control_url": f"{urls['admin_api']}/_sandbox/",
                        "log_file": self.ctx.extra.get("log_file", ""),
                        "data_dir": str(self.ctx.data_dir), "pid": os.getpid()},
        }

    def budgets(self) -> dict[str, Any]:
        """Wait budgets derived from this sandbox's own timings, so a spec against it waits only as
        long as the behaviour needs (and a broken one fails that fast): an event needs a gather
        (``monitors.interval``), a flush (``agents.maxFlushInterval`` + telegraf's 2 s jitter), an
        agent reload after a configure and the engine's hop — twice that, for a loaded machine."""
        cfg = self.config
        event = max(1, cfg.min_monitor_interval) + cfg.envoy_max_flush_interval + FLUSH_JITTER_S
        return {"events": {"topic": cfg.event_topic, "format": cfg.event_format, "timeout": round(2 * event + 2, 1)},
                "presence": {"attach_timeout": 6, "timeout": round(max(4.0, 10 * cfg.presence_export_period), 1)},
                "installs": {"timeout": 8}}

    def envoy_launcher(self) -> Path:
        """``<data dir>/bin/telemetry-envoy``: the stand-in envoy of *this* sandbox's code (a sandbox
        run from another checkout — a mutation's scratch copy — brings its own envoy)."""
        exe = self.ctx.data_dir / "bin" / "telemetry-envoy"
        if not exe.exists():
            exe.parent.mkdir(parents=True, exist_ok=True)
            root = Path(__file__).resolve().parents[2]
            boot = "import sys; sys.path.insert(0, sys.argv.pop(1)); from sandbox.salus.envoy.cli import main; " \
                   "sys.exit(main())"
            exe.write_text(f"#!/bin/sh\n# e2et sandbox: the stand-in envoy\nexec {shlex.quote(sys.executable)} "
                           f"-c {shlex.quote(boot)} {shlex.quote(str(root))} \"$@\"\n")
            exe.chmod(0o755)
        return exe

    def write_profile(self, path: Path) -> None:
        """Atomically write the profile (0600: it holds the sandbox's generated secrets)."""
        from sandbox.common.cli import write_profile
        write_profile(path, self.profile_dict())

    # ----------------------------------------------------------------------------- stop
    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._poller is not None:
            from support.processes import stop_tree  # psutil: imported when needed, not on every start
            stop_tree(self._poller, grace=3.0)
            if self._poller_log:
                self._poller_log.close()
        for part in (self._engine, self._presence):
            if part is not None:
                _quiet(part.stop)
        if self._ambassador is not None:
            _quiet(lambda: self._ambassador.stop(0.5))
        if self._http is not None:
            _quiet(self._http.stop)
        if self.ctx.bus is not None:
            _quiet(self.ctx.bus.close)
        if self.broker is not None:
            _quiet(self.broker.stop)
        close = getattr(self.ctx.domain, "close", None)
        if close:
            _quiet(close)
        if self._owns_data_dir:
            shutil.rmtree(self.ctx.data_dir, ignore_errors=True)


def _quiet(fn: Any) -> None:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 — stopping must go on whatever one part does
        log.warning("while stopping: %s", e)
