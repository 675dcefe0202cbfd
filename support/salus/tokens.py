"""Envoy tokens (AUTH, contract §1.5): what an envoy presents to the auth service for its cert.

The list is a raw Spring ``Page`` (not ``PagedContent``); ``paging.iter_all`` handles both.
Every token value is added to the redactor the moment it is created.
"""
from __future__ import annotations

import builtins
from typing import Any

from .base import TenantFamily


class EnvoyTokens(TenantFamily):
    def list(self) -> builtins.list[dict[str, Any]]:
        tokens = list(self._pages("envoy-tokens"))
        self.api.log.redact.add(*(t.get("token") for t in tokens))
        return tokens

    def create(self, description: str) -> dict[str, Any]:
        tok = self.api.post(self._t("envoy-tokens"), {"description": description}, expect=(201,),
                            what="creating an envoy token")
        self.api.log.redact.add(tok.get("token"))
        return tok

    def delete(self, token_id: str) -> None:
        self.api.delete(self._t(f"envoy-tokens/{token_id}"), expect=(204, 404))
