"""environment.properties and the tool snapshot: what ran, against what, with which versions.

Endpoints come from ``Settings.redacted_dict()`` (never the raw settings) and every value goes
through the run's redactor once more, so a secret that slipped into a URL still never lands here.
"""
from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .categories import CATEGORIES
from .paths import REPO_ROOT

ALLURE_CLI = REPO_ROOT / "tools" / "allure" / "node_modules" / ".bin" / "allure"


def _run(cmd: list[str], timeout: float = 10) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if out.returncode == 0 and text else None


def _pkg(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def chromium_binary() -> str | None:
    """The headless browser used to check the HTML report (Debian names it ``chromium``)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _allure_version() -> str | None:
    """From the installed package's metadata: no Node start (that costs ~0.4 s on every run)."""
    meta = ALLURE_CLI.parent.parent / "allure" / "package.json"
    try:
        return str(json.loads(meta.read_text())["version"]) if ALLURE_CLI.exists() else None
    except (OSError, ValueError, KeyError):
        return None


def _binary_version(binary: str | None) -> str | None:
    """``binary --version``, cached per (path, mtime, size) under ~/.cache/e2et: a browser or Node
    answers in 0.1–0.3 s, and the same binary answers the same on every run."""
    if not binary:
        return None
    try:
        real = os.path.realpath(binary)
        st = os.stat(real)
    except OSError:
        return None
    key = f"{real}:{st.st_mtime_ns}:{st.st_size}"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "e2et" / "tool-versions.json"
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if key in known:
        return known[key]
    version = _run([binary, "--version"])
    with contextlib.suppress(OSError):
        cache.parent.mkdir(parents=True, exist_ok=True)
        known[key] = version
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known))
        os.replace(tmp, cache)
    return version


@functools.lru_cache(maxsize=1)
def tools() -> dict[str, str | None]:
    """Versions of the tools a report depends on (None: not found), probed once per process."""
    return {
        "python": platform.python_version(),
        "behave": _pkg("behave"),
        "allure-behave": _pkg("allure-behave"),
        "e2et": _pkg("e2et"),
        "node": _binary_version(shutil.which("node")),
        "allure-cli": _allure_version(),
        "chromium": _binary_version(chromium_binary()),
    }


def git_revision() -> str | None:
    """Short HEAD revision, suffixed ``-dirty`` when tracked files differ (the report then says so)."""
    if not shutil.which("git"):
        return None
    rev = _run(["git", "rev-parse", "--short=12", "HEAD"])
    if rev is None:
        return None
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=REPO_ROOT, capture_output=True).returncode
    return rev + ("-dirty" if dirty else "")


def snapshot(settings: Any, run_id: str | None, profile: str, chosen: list[Any] | None = None,
             capabilities: dict[str, set[str]] | None = None,
             unavailable: dict[str, str] | None = None) -> dict[str, str]:
    """Flat key → value map of the run's environment (for environment.properties and summaries).

    Each selected pack contributes its own facts (``Pack.environment``: endpoints, never secrets)
    and capabilities; nothing here names a particular system.
    """
    props = {"profile": profile, "run_id": run_id or "?", "git.revision": git_revision() or "?",
             "platform": f"{platform.system()} {platform.machine()}", "python.executable": sys.executable}
    chosen = chosen or []
    props["packs"] = ",".join(p.name for p in chosen) or "none"
    for name, reason in (unavailable or {}).items():
        props[f"{name}.unavailable"] = reason
    for pack in chosen:
        try:
            section = settings.section(pack.name) if settings is not None else None
        except KeyError:
            continue
        if section is None:
            continue
        props.update({k: str(v) for k, v in pack.environment(section).items()})
        caps = (capabilities or {}).get(pack.name)
        if caps is not None:
            props[f"{pack.name}.capabilities"] = ",".join(sorted(caps))
    props.update({f"tool.{k}": v or "not found" for k, v in tools().items()})
    return props


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")


def write_environment(results: Path, props: dict[str, str], redact: Callable[[str], str]) -> Path:
    """environment.properties (Java properties syntax) and categories.json into the results dir."""
    results.mkdir(parents=True, exist_ok=True)
    lines = [f"{_escape(k)}={_escape(redact(str(v)))}" for k, v in sorted(props.items())]
    path = results / "environment.properties"
    path.write_text("\n".join(lines) + "\n")
    (results / "categories.json").write_text(json.dumps(CATEGORIES, indent=2) + "\n")
    return path
