"""What a Coral profile lets the pack check (``@needs:<capability>``) and how to enable the rest.

Why computed from the profile: a real deployment has no fault control and no namespaces to
enter; a HEAD colony has no secret check; a long lease TTL makes the expiry spec an hour-long
wait. Each of those is a SKIP naming the setting, never a red or a silently green scenario.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .hosts import can_enter
from .settings import CoralSettings

HOW_TO_ENABLE: dict[str, str] = {
    "mesh_hosts": "the Coral hosts: a real Coral's coral.discovery_url, colony and agents, or for the local "
                  "sandbox root, `ip netns`, /dev/net/tun and wireguard-go (bash scripts/setup.sh)",
    "faults": "the sandbox fault control to stop, start and restart discovery, colony and agents (profile local)",
    "netns": "sandbox hosts the runner can enter (profile local, run as root with nsenter)",
    "underlay": "direct calls to the colony's connect port from the runner (coral.colony.connect_url, and "
                "coral.direct_registration: true — it leaves run-named allocations on a real colony)",
    "secret_auth": "a plan-era colony with its secret (coral.version: plan, E2ET_CORAL__COLONY__SECRET); "
                   "the colony_secret check was removed upstream in 62c0718 (HEAD accepts any secret)",
    "short_ttl": "a discovery TTL of 30 s or less (coral.lease.ttl; DEFAULT_TTL_SECONDS / --ttl on discovery)",
    "three_agents": "at least three agents in coral.agents",
    "spare_agent": "a spare agent host the sandbox can start (profile local)",
    "otel_app": "the OpenTelemetry test app next to an agent (coral.observability.apps.otel_app: url, agent, service)",
    "sample_rate_1": "agents keeping 100 % of OTLP spans (coral.observability.sample_rate: 1.0; Coral keeps 10 % by "
                     "default — set telemetry.filters.sample_rate / CORAL_SAMPLE_RATE)",
    "ebpf": "agents whose eBPF collectors run (coral.observability.ebpf: true — root or CAP_BPF+CAP_PERFMON, "
            "perf_event_paranoid ≤ 1); the local sandbox's stand-in agents never emulate eBPF: real Coral is not "
            "installable here (Go module proxy 403), although this kernel loads BPF programs and perf events as root",
    "beyla": "agents that can run Beyla (coral.observability.beyla: true, BEYLA_PATH); Beyla is not installable "
             "here (Go module proxy 403)",
    "cpu_app": "the CPU-intensive test app next to an agent (coral.observability.apps.cpu_app)",
    "sdk_app": "the Coral SDK test app with its debug server next to an agent (coral.observability.apps.sdk_app)",
}


def host_problem() -> str | None:
    """Why this machine cannot run the local sandbox's hosts (None when it can)."""
    if os.geteuid() != 0:
        return "not root (network namespaces and WireGuard need root)"
    if not Path("/dev/net/tun").exists():
        return "no /dev/net/tun"
    for tool, pkg in (("ip", "iproute2"), ("wireguard-go", "wireguard-go"), ("wg", "wireguard-tools"),
                      ("nsenter", "util-linux"), ("ping", "iputils-ping")):
        if shutil.which(tool) is None:
            return f"{tool} missing (apt-get install {pkg}, or bash scripts/setup.sh)"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=5)
    if probe.returncode != 0:
        return f"`ip netns` fails: {probe.stderr.strip()}"
    return None


def capabilities(settings: CoralSettings) -> set[str]:
    if settings.unavailable or settings.colony is None:
        return set()
    caps = {"mesh_hosts"}
    sandbox = settings.sandbox
    if sandbox is not None and sandbox.control_url:
        caps.add("faults")
        if any(a.spare for a in settings.agents):
            caps.add("spare_agent")
    if sandbox is not None and settings.hosts and can_enter() is None:
        caps.add("netns")
    if settings.direct_registration:
        caps.add("underlay")
    if settings.secret_auth and settings.colony.secret is not None:
        caps.add("secret_auth")
    if settings.lease.ttl <= 30:
        caps.add("short_ttl")
    if len(settings.live_agents()) >= 3:
        caps.add("three_agents")
    obs = settings.observability
    caps |= {name for name in ("otel_app", "cpu_app", "sdk_app") if name in obs.apps}
    if obs.sample_rate >= 1.0:
        caps.add("sample_rate_1")
    if obs.ebpf:
        caps.add("ebpf")
    if obs.beyla:
        caps.add("beyla")
    return caps
