"""Colony observability (contract §6): pollers and query RPCs — filled in by phase 2."""
from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web


class Observability:
    def __init__(self, colony: Any, cfg: dict[str, Any]) -> None:
        self.colony, self.cfg = colony, cfg

    def routes(self, app: web.Application) -> None:
        pass

    async def run(self) -> None:
        await asyncio.Event().wait()


def attach(colony: Any, cfg: dict[str, Any]) -> Observability:
    return Observability(colony, cfg)
