"""The Coral pack's declaration: everything e2et's shared machinery needs to know about Coral."""
from __future__ import annotations

from typing import Any, ClassVar

from ..errors import ConfigError
from ..packs import Endpoint, Pack
from ..run import CleanupStack, RunContext
from .capabilities import HOW_TO_ENABLE, capabilities, host_problem
from .settings import CoralSettings


class CoralPack(Pack):
    name = "coral"
    title = "Coral observability mesh"
    settings_model = CoralSettings
    sandbox_module = "sandbox.coral"
    fault_catalog_module = "sandbox.coral.faults"
    how_to_enable = HOW_TO_ENABLE
    # the sandbox's stand-ins, their WireGuard children (argv[0] carries the run marker) and anchors
    leak_markers = ("sandbox.coral", "-wg-h", "-anchor-h", "wireguard-go")
    known_issues: ClassVar[dict[str, str]] = {}

    def world(self, settings: CoralSettings, run: RunContext, run_cleanup: CleanupStack) -> Any:
        from .world import CoralWorld
        return CoralWorld(settings, run, run_cleanup)

    def endpoints(self, s: CoralSettings) -> list[Endpoint]:
        if s.unavailable or s.colony is None:
            return []
        out = [Endpoint("discovery_url", s.discovery_url), Endpoint("colony.connect_url", s.colony.connect_url)]
        out += [Endpoint(f"agents.{a.name}.status_url", a.status_url, preflight=not a.spare) for a in s.agents]
        return out

    def capabilities(self, s: CoralSettings) -> set[str]:
        return capabilities(s) | super().capabilities(s)

    def enable_hint(self, capability: str, settings: Any) -> str:
        """The mesh hosts' reason also names what this machine lacks, if anything."""
        text = super().enable_hint(capability, settings)
        problem = host_problem() if capability == "mesh_hosts" else None
        return f"{text} — this machine: {problem}" if problem else text

    def unavailable_reason(self) -> str | None:
        """Root, ``ip netns``, /dev/net/tun and the WireGuard tools: without them no local mesh."""
        return host_problem()

    def check(self, s: CoralSettings, profile: str) -> None:
        if s.unavailable:
            return
        if not s.discovery_url:
            raise ConfigError(f"profile {profile}: coral.discovery_url is missing: set it (E2ET_CORAL__DISCOVERY_URL)")
        if s.colony is None:
            raise ConfigError(f"profile {profile}: coral.colony (id, connect_url) is missing: set it "
                              "(E2ET_CORAL__COLONY__ID, E2ET_CORAL__COLONY__CONNECT_URL)")
        if s.version == "plan" and s.secret_auth and s.colony.secret is None and profile != "local":
            raise ConfigError(f"profile {profile}: a plan-era colony needs its secret: set E2ET_CORAL__COLONY__SECRET "
                              "or coral.colony.secret_file (or coral.secret_auth: false)")

    def environment(self, s: CoralSettings) -> dict[str, str]:
        props = super().environment(s)
        props.update({"coral.version": s.version, "coral.implementation": s.implementation,
                      "coral.discovery_flavour": str(s.discovery_flavour),
                      "coral.heartbeat_interval": f"{s.heartbeat_interval:g}s", "coral.agents": str(len(s.agents))})
        if s.unavailable:
            props["coral.unavailable"] = s.unavailable
        return props


PACK = CoralPack()
