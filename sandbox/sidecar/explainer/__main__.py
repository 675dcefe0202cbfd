"""``python -m sandbox.sidecar.explainer``: the worker plus its metrics server."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from aiohttp import web


async def _main() -> None:
    from .worker import Worker, metrics_app

    worker = Worker(dict(os.environ))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(await metrics_app(worker), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, os.environ.get("EXPLAINER_METRICS_HOST", "127.0.0.1"),
                      int(os.environ.get("EXPLAINER_METRICS_PORT", "9090"))).start()
    try:
        await worker.run(stop)
    finally:
        await runner.cleanup()
        await worker.redis.aclose()


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
