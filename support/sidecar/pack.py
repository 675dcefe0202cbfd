"""The @sidecar pack's declaration: the Async Sidecar (LLM gateway + asynchronous HIF explainer)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..packs import Endpoint, Pack
from ..run import CleanupStack, RunContext
from .capabilities import HOW_TO_ENABLE, capabilities
from .settings import PATH_KEYS, SidecarSettings


class SidecarPack(Pack):
    name = "sidecar"
    title = "Async Sidecar (LLM gateway and HIF explainer)"
    settings_model = SidecarSettings
    sandbox_module = "sandbox.sidecar"
    fault_catalog_module = "sandbox.sidecar.faults"
    how_to_enable = HOW_TO_ENABLE
    # the stand-in's children: its gateway and explainer processes and its Redis (run with --dir …/sidecar-redis)
    leak_markers = ("sandbox.sidecar", "sidecar-redis")

    def world(self, settings: SidecarSettings, run: RunContext, run_cleanup: CleanupStack) -> Any:
        from .world import SidecarWorld
        return SidecarWorld(settings, run, run_cleanup)

    def endpoints(self, s: SidecarSettings) -> list[Endpoint]:
        out = [Endpoint("base_url", s.base_url), Endpoint("metrics_gateway", s.metrics_gateway or "", preflight=False)]
        if s.metrics_explainer:
            out.append(Endpoint("metrics_explainer", s.metrics_explainer, preflight=False))
        return out

    def capabilities(self, s: SidecarSettings) -> set[str]:
        return capabilities(s) | super().capabilities(s)

    def check(self, s: SidecarSettings, profile: str) -> None:
        """A path that is set must be readable (a chart path with a typo would skip silently)."""
        for key in PATH_KEYS:
            path = getattr(s, key)
            if path is None or key in ("status_json", "audit_log", "chaos_control"):
                continue          # runtime files: absent until the system writes them (a skip, per the contract)
            p = Path(path)
            ok = (p / "Chart.yaml").is_file() if key == "helm_chart" else p.is_file()
            if not ok:
                what = "a chart directory with Chart.yaml" if key == "helm_chart" else "a readable file"
                raise ConfigError(f"profile {profile}: sidecar.{key} {path} is not {what}: fix the path or unset "
                                  f"E2ET_SIDECAR__{key.upper()}")
        if s.s3_check and not s.s3_check.startswith(("file://", "s3://")):
            raise ConfigError(f"profile {profile}: sidecar.s3_check {s.s3_check!r} must be file:///… or s3://…")

    def janitor(self, s: SidecarSettings, run: RunContext, older_than: dt.timedelta, keep_runs: set[str],
                dry_run: bool) -> dict[str, int]:
        """Traces of dead e2et runs still queued or running (found in the status store) are canceled;
        nothing else this pack creates outlives a run (traces expire by TTL, the receiver is local)."""
        from .janitor import cancel_stale_traces
        return cancel_stale_traces(s, run, older_than, keep_runs, dry_run)

    def environment(self, s: SidecarSettings) -> dict[str, str]:
        props = {f"sidecar.{e.setting}": e.address for e in self.endpoints(s)}
        props.update({"sidecar.tenant_a": str(s.tenant_a), "sidecar.tenant_b": str(s.tenant_b),
                      "sidecar.load": f"{s.load.duration:g}s x {s.load.concurrency}, attach {s.load.attach_rate}"})
        return props


PACK = SidecarPack()
