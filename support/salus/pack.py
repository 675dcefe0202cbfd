"""The Salus pack's declaration: everything e2et's shared machinery needs to know about Salus."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

from ..errors import ConfigError
from ..http import ExchangeLog, Redactor
from ..packs import Endpoint, Pack
from ..run import CleanupStack, RunContext
from .settings import LEGACY, SalusSettings


class SalusPack(Pack):
    name = "salus"
    title = "Salus monitoring platform"
    settings_model = SalusSettings
    sandbox_module = "sandbox.salus"
    fault_catalog_module = "sandbox.salus.faults"
    legacy = LEGACY
    how_to_enable: ClassVar[Mapping[str, str]] = {
        "admin": "admin credentials (admin.username + E2ET_ADMIN_PASSWORD or E2ET_ADMIN__API_KEY) and admin_api.url",
        "public_zone": "a public zone with a poller (zones.public)",
        "kafka_tls": "Kafka TLS material (kafka.security_protocol SSL/SASL_SSL with CA/cert settings)",
        "kafka_sasl": "Kafka SASL credentials (kafka.sasl_username / E2ET_KAFKA__SASL_PASSWORD)",
        "faults": "the sandbox fault control (profile local)",
        "envoy": "an envoy executable or tarball (envoy.executable / envoy.tarball_url)",
    }
    leak_markers = ("sandbox.salus.envoy.cli", "telemetry-envoy", "telegraf")
    known_issues: ClassVar[Mapping[str, str]] = {
        "uninstall-ignored": "known real-system gap: the ambassador ignores install deletions "
                             "(no uninstall instruction exists; contract §5.5) — the agent stays on disk",
    }

    def world(self, settings: SalusSettings, run: RunContext, run_cleanup: CleanupStack) -> Any:
        from .world import SalusWorld
        return SalusWorld(settings, run, run_cleanup)

    def endpoints(self, s: SalusSettings) -> list[Endpoint]:
        out = [Endpoint("identity.url", s.identity.url), Endpoint("public_api.url", s.public_api.url)]
        if s.admin_api:
            out.append(Endpoint("admin_api.url", s.admin_api.url))
        out += [Endpoint("auth_service.url", s.auth_service.url, preflight=False),
                Endpoint("ambassador.address", s.ambassador.address, preflight=False)]
        out += [Endpoint("kafka.brokers", b) for b in s.kafka.brokers]
        return out

    def capabilities(self, s: SalusSettings) -> set[str]:
        caps = {"public_api", "kafka"} | super().capabilities(s) | s.kafka.capabilities()
        if s.has_admin():
            caps.add("admin")
        if s.zones.public:
            caps.add("public_zone")
        e = s.envoy
        if e.executable or e.command or e.tarball_url or e.tarball_url_linux or e.tarball_url_darwin:
            caps.add("envoy")
        return caps

    def check(self, s: SalusSettings, profile: str) -> None:
        if profile == "local":
            return
        if not s.regular.api_key:
            raise ConfigError(f"profile {profile}: the regular user's API key is missing: set E2ET_REGULAR_API_KEY "
                              "(or E2ET_REGULAR__API_KEY_FILE)")
        if not s.regular.username:
            raise ConfigError(f"profile {profile}: salus.regular.username is missing: set it in the profile or "
                              "E2ET_REGULAR_ID")

    def fault_control(self, s: SalusSettings, log: ExchangeLog | None = None, transport: Any = None) -> Any:
        """The sandbox's switches sit on its admin API: they need the admin user's token."""
        from ..faults import FaultControl
        from .identity import Identity

        if not s.has_admin() or s.admin is None:
            raise ConfigError("fault control needs the admin user: the salus settings lack admin credentials")
        log = log or ExchangeLog(Redactor(self._secrets(s)))
        identity = Identity(str(s.identity.url), 10.0, log, transport=transport)
        admin = s.admin

        def token() -> str:
            secret = lambda v: v.get_secret_value() if v else None  # noqa: E731
            return identity.token(admin.username, secret(admin.api_key), secret(admin.password))
        return FaultControl.at(self.name, s, log, token=token, transport=transport)

    def janitor(self, s: SalusSettings, run: RunContext, older_than: dt.timedelta, keep_runs: set[str],
                dry_run: bool) -> dict[str, int]:
        from .janitor import Janitor
        from .world import SalusWorld
        world = SalusWorld(s, run)
        try:
            return Janitor(world).sweep(older_than=older_than, keep_runs=keep_runs, dry_run=dry_run)
        finally:
            world.close()

    def environment(self, s: SalusSettings) -> dict[str, str]:
        props = {f"salus.{e.setting}": e.address for e in self.endpoints(s) if e.setting != "kafka.brokers"}
        props.update({"salus.kafka.brokers": ",".join(s.kafka.brokers),
                      "salus.kafka.security_protocol": s.kafka.security_protocol,
                      "salus.events.topic": s.events.topic, "salus.events.format": s.events.format,
                      "salus.tenant": s.tenant.id})
        return props

    @staticmethod
    def _secrets(s: SalusSettings) -> list[str]:
        from ..world import secret_values
        return secret_values(s)


PACK = SalusPack()
