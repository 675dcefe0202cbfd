"""Run the @sidecar specs in a behave child against a running stand-in and read back, per
scenario, its status and failure message (JSON formatter + JUnit for error messages)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FEATURES = Path(os.environ.get("SIDECAR_DEV_ROOT", REPO_ROOT)) / "features" / "sidecar"  # DEV-HACK remove


@dataclass
class Result:
    returncode: int
    status: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""

    def failed(self) -> set[str]:
        return {n for n, s in self.status.items() if s in ("failed", "error")}

    def passed(self) -> set[str]:
        return {n for n, s in self.status.items() if s == "passed"}

    def skipped(self) -> set[str]:
        return {n for n, s in self.status.items() if s == "skipped"}


def feature(prefix: str) -> str:
    (path,) = FEATURES.glob(f"{prefix}_*.feature")
    return str(path)


def run_specs(profile: Path, out_dir: Path, *features: str, env: dict[str, str] | None = None,
              timeout: float = 240) -> Result:
    """``behave --tags @sidecar <features>`` with the stand-in's profile as the local profile."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    out, junit = out_dir / f"behave-{tag}.json", out_dir / f"junit-{tag}"
    full_env = {**os.environ, "E2ET_SANDBOX_PROFILE": str(profile), "E2ET_PROFILE": "local", **(env or {})}
    paths = [feature(f) for f in features] or [str(FEATURES)]
    cmd = [sys.executable, "-m", "behave", "--tags", "@sidecar", "-f", "json", "-o", str(out), "--junit",
           "--junit-directory", str(junit), *paths]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)
    res = Result(proc.returncode, stdout=proc.stdout, stderr=proc.stderr)
    if out.exists() and out.stat().st_size:
        for feat in json.loads(out.read_text()):
            for el in feat.get("elements", []):
                if el.get("type") != "scenario":
                    continue
                name = el["name"].split(" -- @", 1)[0]          # outline rows: "<name> -- @1.1 "
                res.status[name] = el.get("status", "?")
                for step in el.get("steps", []):
                    r = step.get("result", {})
                    if r.get("status") in ("failed", "error"):
                        em = r.get("error_message", "")
                        res.messages[name] = "\n".join(em) if isinstance(em, list) else str(em)
                        break
    for xml in junit.glob("*.xml"):
        for case in ET.parse(xml).getroot().iter("testcase"):
            name = case.get("name", "").split(" -- @", 1)[0]
            for tag_ in ("failure", "error"):
                node = case.find(tag_)
                if node is not None and not res.messages.get(name):
                    res.messages[name] = (node.get("message") or "") + "\n" + (node.text or "")
    return res
