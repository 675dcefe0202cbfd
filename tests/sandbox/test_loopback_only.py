"""Nothing the sandbox seeds, serves or writes into its profile points off loopback (issue 13 §4):
a seeded decoy release with an unresolvable host name once made an envoy ask the machine's
resolver. And the profile names its stand-in envoy by ``envoy.executable`` only, so a user's
executable always wins."""
from __future__ import annotations

import ipaddress
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from support.sandboxes import SandboxHandle, start_sandbox

URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.I)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _urls(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for v in node.values():
            yield from _urls(v)
    elif isinstance(node, list):
        for v in node:
            yield from _urls(v)
    elif isinstance(node, str):
        yield from URL.findall(node)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    with start_sandbox("salus", tmp_path_factory.mktemp("loopback")) as handle:
        yield handle


def _admin(profile: dict[str, Any]) -> httpx.Client:
    auth = {"auth": {"passwordCredentials": {"username": profile["admin"]["username"],
                                             "password": profile["admin"]["password"]}}}
    token = httpx.post(profile["identity"]["url"] + "tokens", json=auth).json()["access"]["token"]["id"]
    return httpx.Client(base_url=profile["admin_api"]["url"], headers={"X-Auth-Token": token}, timeout=5)


def test_every_seeded_and_profiled_url_is_loopback(sandbox: SandboxHandle) -> None:
    profile = yaml.safe_load(sandbox.profile_path.read_text())
    found: dict[str, str] = {}
    with _admin(profile) as admin:
        for route in ("api/agent-releases", "api/zones", "api/monitors", "api/resources"):
            page, pages = 0, 1
            while page < pages:
                body = admin.get(route, params={"page": page, "size": 100}).json()
                pages = body.get("totalPages", 1)
                for url in _urls(body.get("content")):
                    found[url] = route
                page += 1
    for url in _urls(profile):
        found[url] = "profile"
    assert len(found) > 10, found
    off = {u: where for u, where in found.items() if not _loopback(urlsplit(u).hostname or "")}
    assert not off, f"URLs that leave loopback: {off}"
    hosts = [profile["ambassador"]["address"], *profile["kafka"]["brokers"]]
    assert all(_loopback(h.rpartition(":")[0]) for h in hosts), hosts


def test_the_profile_names_the_stand_in_envoy_by_executable_only(sandbox: SandboxHandle) -> None:
    envoy = yaml.safe_load(sandbox.profile_path.read_text())["envoy"]
    assert "command" not in envoy, "a command in the sandbox profile would compete with the user's executable"
    exe = Path(envoy["executable"])
    out = subprocess.run([str(exe), "version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip(), out.stderr
    assert envoy["max_flush_interval"] > 0


def test_the_users_executable_beats_the_sandboxs(sandbox: SandboxHandle, tmp_path: Path) -> None:
    from support.config import load_settings
    from support.salus.envoy import envoy_command

    mine = tmp_path / "my-envoy"
    mine.write_text("#!/bin/sh\nexit 0\n")
    mine.chmod(0o755)
    env = {"E2ET_SANDBOX_PROFILE": str(sandbox.profile_path)}
    assert envoy_command(load_settings("local", {**env, "E2ET_ENVOY__EXECUTABLE": str(mine)}).salus, tmp_path) \
        == [str(mine)]
    own = yaml.safe_load(sandbox.profile_path.read_text())["envoy"]["executable"]
    assert envoy_command(load_settings("local", env).salus, tmp_path) == [own]
