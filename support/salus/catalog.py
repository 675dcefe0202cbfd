"""Agent releases (ACM, contract §1.5/§2): list, choose the best valid one, create via admin.

Why our own version key: ``packaging`` is not a dependency, and releases use plain semver.
"""
from __future__ import annotations

import platform
import re
import sys
from typing import Any

from ..http import ApiClient
from .base import TenantFamily

_SEMVER = re.compile(r"^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def semver_key(version: str) -> tuple:
    """Sort key: ``1.13.2`` > ``1.13.2-rc.2`` > ``1.13.2-rc.1`` > ``1.13.1``; invalid sorts lowest.

    Pre-release identifiers compare numerically when numeric, numbers before words (semver §11).
    """
    m = _SEMVER.match(str(version or "").strip())
    if not m:
        return (0, ())
    nums = tuple(int(x) for x in m.group(1).split("."))
    nums = nums + (0,) * (3 - len(nums)) if len(nums) < 3 else nums
    pre = m.group(2)
    if pre is None:
        return (1, nums, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (1, nums, 0, ids)


def platform_labels() -> tuple[str, str]:
    """This machine in Go's naming, as the envoy reports it (agent_discovered_os/arch)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "386",
            "i686": "386"}.get(machine, machine)
    return ({"darwin": "darwin", "win32": "windows"}.get(sys.platform, "linux"), arch)


def is_valid(release: dict[str, Any], agent_type: str, os_: str, arch: str) -> bool:
    """Usable by an envoy on this os/arch: right type, download url + exe present, labels match."""
    labels = release.get("labels") or {}
    return (release.get("type") == agent_type and bool(release.get("url")) and bool(release.get("exe"))
            and labels.get("agent_discovered_os") == os_ and labels.get("agent_discovered_arch") == arch
            and semver_key(str(release.get("version")))[0] == 1)


def best_release(releases: list[dict[str, Any]], agent_type: str, os_: str, arch: str) -> dict[str, Any] | None:
    """The highest-versioned valid release, or None."""
    valid = [r for r in releases if is_valid(r, agent_type, os_, arch)]
    return max(valid, key=lambda r: semver_key(str(r["version"]))) if valid else None


class Catalog(TenantFamily):
    """Public list (``agent-releases[?type=]``), single get (gateway quirk path), admin create."""

    def releases(self, agent_type: str | None = None) -> list[dict[str, Any]]:
        return list(self._pages("agent-releases", {"type": agent_type} if agent_type else None))

    def get(self, release_id: str) -> dict[str, Any] | None:
        # The public gateway maps "get one release" under event-tasks/ (contract §1.4).
        return self.api.get(self._t(f"event-tasks/agent-releases/{release_id}"), expect=(200, 404))

    def best(self, agent_type: str = "TELEGRAF", os_: str | None = None, arch: str | None = None
             ) -> dict[str, Any] | None:
        here = platform_labels()
        return best_release(self.releases(agent_type), agent_type, os_ or here[0], arch or here[1])

    def create_release(self, admin: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
        return admin.post("api/agent-releases", body, expect=(201,), what="creating an agent release")

    @staticmethod
    def release_body(agent_type: str, version: str, url: str, exe: str, os_: str, arch: str) -> dict[str, Any]:
        return {"type": agent_type, "version": version, "url": url, "exe": exe,
                "labels": {"agent_discovered_os": os_, "agent_discovered_arch": arch}}

    def delete_release(self, admin: ApiClient, release_id: str) -> None:
        admin.delete(f"api/agent-releases/{release_id}", expect=(204, 404))
