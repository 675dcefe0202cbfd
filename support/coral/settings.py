"""The ``coral:`` section of a profile: where discovery, the colony and the agents are, and the
timings the specs judge against.

Why timings live here: the health thresholds, heartbeat interval and lease TTL are the contract's
constants on a real Coral (30 s / 2 min, 15 s plan era or 30 s HEAD, 300 s), but a sandbox may run
shorter ones to keep the pack fast — it says so in the profile it writes, and the specs assert
against whatever the profile states. ``version: plan|head`` is the one switch for version-specific
requests and readers (contract, "Which contract to follow").
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from ..durations import Seconds
from ..packs import PackSettings


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _url(v: str) -> str:
    v = (v or "").strip()
    if not v:
        return v
    if not v.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {v!r}")
    return v if v.endswith("/") else v + "/"


#: an http(s) base URL, normalised to end with "/" (paths are appended to it)
Url = Annotated[str, AfterValidator(_url)]


class ColonySettings(_M):
    id: str
    #: plan era only (removed upstream in 62c0718); from E2ET_CORAL__COLONY__SECRET or colony.secret_file
    secret: SecretStr | None = None
    #: the colony's connect port as the runner reaches it over the underlay (Register, GetStatus, /status)
    connect_url: Url


class AgentSettings(_M):
    name: str
    status_url: Url               # the agent's :9001 (``/status``, AgentService) as the runner reaches it
    spare: bool = False           # a host the sandbox keeps stopped until a scenario starts it


class HostInfo(_M):
    """Sandbox only: how the runner enters a host (its namespaces are held by an anchor process)."""

    netns: str
    anchor_pid: int | None = None
    address: str = ""


class Thresholds(_M):
    healthy: Seconds = 30.0       # DefaultAgentHealthyThreshold
    degraded: Seconds = 120.0     # DefaultAgentDegradedThreshold


class Lease(_M):
    ttl: Seconds = 300.0
    register_interval: Seconds = 60.0


class AppInfo(_M):
    """A test app next to an agent (contract §6.2): where the runner sends its traffic."""

    url: Url
    agent: str                    # the agent (host) it runs beside
    service: str                  # its service name in Coral's data


class Observability(_M):
    """L0–L3 (contract §6): the test apps, the sampling rate and the poll/collect periods."""

    apps: dict[str, AppInfo] = Field(default_factory=dict)     # otel_app | cpu_app | sdk_app
    sample_rate: float = 0.10                                   # telemetry.filters.sample_rate
    telemetry_poll_interval: Seconds = 60.0                     # fixed 1 min in the plan era
    system_metrics_poll_interval: Seconds = 60.0
    system_metrics_interval: Seconds = 15.0
    ebpf: bool = False            # the agents' eBPF collectors run (root/CAP_BPF, perf_event_paranoid ≤ 1)
    beyla: bool = False           # the agents can start Beyla (BEYLA_PATH or the embedded copy)
    ebpf_note: str = ""


class CoralSettings(PackSettings):
    version: Literal["plan", "head"] = "plan"
    #: what answers at these endpoints: "real" Coral or the sandbox's "stand-ins" (shown in the report)
    implementation: str = "real"
    #: set by a local sandbox that cannot run on this machine: why (every @coral scenario skips with it)
    unavailable: str | None = None
    discovery_url: Url = ""
    discovery_flavour: Literal["go", "workers"] | None = None
    colony: ColonySettings | None = None
    agents: list[AgentSettings] = Field(default_factory=list)
    heartbeat_interval: Seconds | None = None
    thresholds: Thresholds = Field(default_factory=Thresholds)
    lease: Lease = Field(default_factory=Lease)
    secret_auth: bool | None = None
    hosts: dict[str, HostInfo] = Field(default_factory=dict)     # sandbox only: name → its namespaces
    observability: Observability = Field(default_factory=Observability)
    timeout: Seconds = 10.0
    #: the suite may register run-named agents of its own (a real colony keeps their allocations forever)
    direct_registration: bool = True

    @model_validator(mode="after")
    def _defaults(self) -> CoralSettings:
        if self.discovery_flavour is None:
            self.discovery_flavour = "go" if self.version == "plan" else "workers"
        if self.heartbeat_interval is None:
            self.heartbeat_interval = 15.0 if self.version == "plan" else 30.0
        if self.secret_auth is None:
            self.secret_auth = self.version == "plan"
        return self

    def live_agents(self) -> list[AgentSettings]:
        return [a for a in self.agents if not a.spare]

    def agent(self, name: str) -> AgentSettings:
        for a in self.agents:
            if a.name == name:
                return a
        raise KeyError(f"no agent {name!r} in the profile's coral.agents ({', '.join(a.name for a in self.agents)})")
