"""What a run left in the tenant, the processes and the temp dirs it left on this machine."""
from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path
from typing import Any

import psutil

from support.config import load_settings
from support.run import RunContext, parse_run_id
from support.salus.world import SalusWorld


def world_for(profile_file: Path) -> SalusWorld:
    os.environ["E2ET_SANDBOX_PROFILE"] = str(profile_file)
    return SalusWorld(load_settings("local", packs=["salus"]).salus, RunContext())


def objects_of_run(world: SalusWorld, run_id: str) -> dict[str, list[str]]:
    """Every tenant object (and admin policy/template) carrying ``run_id``."""
    def mine(*values: Any) -> bool:
        return any(parse_run_id(str(v or "")) == run_id or (isinstance(v, dict) and v.get("e2et-run-id") == run_id)
                   for v in values)
    found = {
        "resources": [r["resourceId"] for r in world.resources.list() if mine(r["resourceId"], r.get("metadata"))],
        "monitors": [m["id"] for m in world.monitors.list() if mine(m.get("name"), m.get("resourceId"))],
        "tasks": [t["id"] for t in world.tasks.list() if mine(t.get("name"))],
        "zones": [z["name"] for z in world.zones.list() if mine(z["name"])],
        "envoy_tokens": [t["id"] for t in world.tokens.list() if mine(t.get("description"))],
        "installs": [i["id"] for i in world.installs.list() if mine(*(i.get("labelSelector") or {}).values())],
        "policies": [p["id"] for p in world.policies.policies() if mine(p.get("name"))],
        "templates": [t["id"] for t in world.policies.templates() if mine(t.get("name"))],
    }
    return {k: v for k, v in found.items() if v}


def processes_of_run(run_id: str) -> list[str]:
    """Envoy or agent processes whose command line or cwd belongs to this run's temp root."""
    marker = f"e2et-{run_id}-"
    out = []
    for p in psutil.process_iter(["pid", "cmdline", "cwd"]):
        try:
            text = " ".join(p.info["cmdline"] or []) + " " + (p.info["cwd"] or "")
        except psutil.Error:
            continue
        if marker in text:
            out.append(f"{p.info['pid']}: {text[:160]}")
    return out


def temp_dirs_of_run(run_id: str) -> list[str]:
    return glob.glob(os.path.join(tempfile.gettempdir(), f"e2et-{run_id}-*"))
