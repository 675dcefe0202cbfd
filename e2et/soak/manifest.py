"""``manifest.json``: what was run, with which code and tools, on what — so two soaks can be compared
knowing whether the code or the machine changed. Secret-looking environment values are masked."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("behave", "allure-behave", "e2et", "matplotlib", "psutil", "rich", "httpx", "kafka-python")
SECRET_WORDS = ("KEY", "PASSWORD", "SECRET", "TOKEN", "CREDENTIAL")


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + ("-dirty" if dirty else "") if rev else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def tool_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def environment_snapshot(env: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ if env is None else env)
    e2et = {k: ("***" if any(w in k.upper() for w in SECRET_WORDS) else v)
            for k, v in sorted(env.items()) if k.startswith("E2ET_")}
    return {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "python_executable": sys.executable, "hostname": platform.node(), "e2et_env": e2et}


def write_manifest(directory: Path, soak_id: str, config: dict[str, Any], phases: list[dict[str, Any]],
                   extra: dict[str, Any] | None = None) -> Path:
    data = {"soak_id": soak_id, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "inputs": config, "git_revision": git_revision(), "tools": tool_versions(),
            "environment": environment_snapshot(), "phases": phases, **(extra or {})}
    path = Path(directory) / "manifest.json"
    path.write_text(json.dumps(data, indent=2))
    return path
