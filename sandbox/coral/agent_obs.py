"""Agent observability (contract §6): OTLP receivers, system metrics, query RPCs — phase 2."""
from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web


class Observability:
    def __init__(self, agent: Any, cfg: dict[str, Any]) -> None:
        self.agent, self.cfg = agent, cfg

    def routes(self, app: web.Application) -> None:
        pass

    async def run(self) -> None:
        await asyncio.Event().wait()


def attach(agent: Any, cfg: dict[str, Any]) -> Observability:
    return Observability(agent, cfg)
