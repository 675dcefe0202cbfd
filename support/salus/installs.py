"""Agent installs (ACM, contract §1.5): bind a release to resources by label selector."""
from __future__ import annotations

import builtins
from typing import Any

from .base import TenantFamily


class Installs(TenantFamily):
    def list(self) -> builtins.list[dict[str, Any]]:
        return list(self._pages("agent-installs"))

    def create(self, release_id: str, selector: dict[str, str], method: str = "AND") -> dict[str, Any]:
        return self.api.post(self._t("agent-installs"), {"agentReleaseId": release_id, "labelSelector": selector,
                                                         "labelSelectorMethod": method},
                             expect=(201,), what="creating an agent install")

    def delete(self, install_id: str) -> None:
        self.api.delete(self._t(f"agent-installs/{install_id}"), expect=(204, 404))
