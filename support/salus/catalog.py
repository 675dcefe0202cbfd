"""Agent releases (ACM, contract §1.5/§2): list, choose the best valid one, create via admin."""
from __future__ import annotations

import platform
import sys
from typing import Any

from ..http import ApiClient
from ..versions import parse, version_key
from .base import TenantFamily


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
            and parse(str(release.get("version"))) is not None)


def best_release(releases: list[dict[str, Any]], agent_type: str, os_: str, arch: str) -> dict[str, Any] | None:
    """The highest-versioned valid release, or None."""
    valid = [r for r in releases if is_valid(r, agent_type, os_, arch)]
    return max(valid, key=lambda r: version_key(str(r["version"]))) if valid else None


class Catalog(TenantFamily):
    """Public list (``agent-releases[?type=]``), single get (gateway quirk path), admin create."""

    def releases(self, agent_type: str | None = None) -> list[dict[str, Any]]:
        return list(self._pages("agent-releases", {"type": agent_type} if agent_type else None))

    def get(self, release_id: str) -> dict[str, Any] | None:
        # The public gateway maps "get one release" under event-tasks/ (contract §1.4).
        return self.api.get(self._t(f"event-tasks/agent-releases/{release_id}"), expect=(200, 404))

    def best(self, agent_type: str = "TELEGRAF", os_: str | None = None, arch: str | None = None,
             ) -> dict[str, Any] | None:
        here = platform_labels()
        return best_release(self.releases(agent_type), agent_type, os_ or here[0], arch or here[1])

    def accepts_token(self) -> None:
        """One cheap authenticated read: ``ApiError`` when the public API refuses the token."""
        self.api.get(self._t("agent-releases"), params={"size": 1}, expect=(200,),
                     what="the regular user's token is refused by the public API")

    @staticmethod
    def admin_accepts_token(admin: ApiClient) -> None:
        admin.get("api/agent-releases", params={"size": 1}, expect=(200,),
                  what="the admin user's token is refused by the admin API")

    def create_release(self, admin: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
        return admin.post("api/agent-releases", body, expect=(201,), what="creating an agent release")

    @staticmethod
    def release_body(agent_type: str, version: str, url: str, exe: str, os_: str, arch: str) -> dict[str, Any]:
        return {"type": agent_type, "version": version, "url": url, "exe": exe,
                "labels": {"agent_discovered_os": os_, "agent_discovered_arch": arch}}

    def delete_release(self, admin: ApiClient, release_id: str) -> None:
        admin.delete(f"api/agent-releases/{release_id}", expect=(204, 404))
