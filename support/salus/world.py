"""The Salus pack's world: its clients, run fixtures and expectations, bound to one run.

Steps talk to ``world_of(context)``: ``world.fixtures`` creates what a scenario needs (cleanup
registered at creation), ``world.expect`` awaits what the platform must do, and the clients (one
per API family) own every URL and request body.
"""
from __future__ import annotations

from typing import Any

from ..http import ApiClient
from ..kafka import TopicWatcher
from ..run import CleanupStack, RunContext
from ..world import Attachment, BaseWorld
from ..world import world_of as _world_of
from . import events
from .catalog import Catalog
from .envoy import EnvoyProcess
from .expectations import Expectations
from .fixtures import Fixtures
from .history import History
from .identity import Identity
from .installs import Installs
from .monitors import Monitors
from .policies import Policies
from .resources import Resources
from .settings import SalusSettings
from .tasks import Tasks
from .tokens import EnvoyTokens
from .zones import Zones


def world_of(context: Any) -> SalusWorld:
    """The Salus world of this run (created on first use), bound to the current scenario."""
    return _world_of(context, "salus")


class SalusWorld(BaseWorld):
    settings: SalusSettings

    def __init__(self, settings: SalusSettings, run: RunContext, run_cleanup: CleanupStack | None = None) -> None:
        super().__init__(settings, run, run_cleanup)
        self.tenant_id = settings.tenant.id
        timeout = run.http_timeout
        self.identity = Identity(str(settings.identity.url), timeout, self.exchanges)
        self.public = ApiClient(str(settings.public_api.url), timeout, self.exchanges,
                                token=lambda: self.token("regular"), service="public API",
                                setting="salus.public_api.url")
        self.admin = (ApiClient(str(settings.admin_api.url), timeout, self.exchanges,
                                token=lambda: self.token("admin"), service="admin API", setting="salus.admin_api.url")
                      if settings.has_admin() and settings.admin_api else None)
        t = self.tenant_id
        self.catalog, self.installs = Catalog(self.public, t), Installs(self.public, t)
        self.zones, self.resources = Zones(self.public, t, self.admin), Resources(self.public, t)
        self.monitors, self.tasks = Monitors(self.public, t), Tasks(self.public, t)
        self.tokens, self.history = EnvoyTokens(self.public, t), History(self.public, t)
        self.policies = Policies(self.admin) if self.admin else None
        self.envoys: list[EnvoyProcess] = []
        self.watchers: list[TopicWatcher] = []
        self.fixtures = Fixtures(self)
        self.expect = Expectations(self)

    # ------------------------------------------------------------------ identity
    def token(self, who: str) -> str:
        user = self.settings.regular if who == "regular" else self.settings.admin
        if user is None:
            raise AssertionError(f"the profile has no {who} user")
        secret = lambda s: s.get_secret_value() if s else None  # noqa: E731
        return self.identity.token(user.username, api_key=secret(user.api_key), password=secret(user.password))

    def assert_token_accepted(self, who: str) -> None:
        if who == "regular":
            self.catalog.accepts_token()
        elif self.admin is None:
            raise AssertionError("the profile has no admin user")
        else:
            Catalog.admin_accepts_token(self.admin)

    # ------------------------------------------------------------------ Kafka
    def watch(self, kind: str) -> TopicWatcher:
        """Watch a Salus topic from now on (``events``, ``metrics``, ``attaches``); closed with the scenario."""
        w = events.watcher(self.settings, kind, self.tenant_id, connect_timeout=self.run.http_timeout)
        w.start()
        self.watchers.append(w)
        self.on_scenario(f"close {kind} watcher", w.close)
        return w

    # ------------------------------------------------------------------ evidence and teardown
    def mark(self) -> Any:
        return (super().mark(), len(self.watchers), len(self.envoys))

    def evidence(self, mark: Any) -> list[Attachment]:
        from .evidence import envoy_evidence, watcher_evidence

        http_mark, n_watch, n_env = mark if isinstance(mark, tuple) else (None, 0, 0)
        out = super().evidence(http_mark)
        out += [watcher_evidence(w, self.tenant_id) for w in self.watchers[n_watch:]]
        # envoys started in this scenario, plus earlier (run-scoped) ones still running that it may have used
        for envoy in self.envoys[n_env:] + [e for e in self.envoys[:n_env] if e.alive()]:
            out += envoy_evidence(envoy)
        return out

    def close(self) -> None:
        super().close()
        for w in self.watchers:
            w.close()
        for envoy in self.envoys:
            envoy.stop()
        for c in (self.public, self.admin, self.identity.api):
            if c is not None:
                c.close()
