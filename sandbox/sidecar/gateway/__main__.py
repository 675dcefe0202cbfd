"""``python -m sandbox.sidecar.gateway``: the gateway process (configured by the contract's env vars)."""
from __future__ import annotations

import logging
import os
import sys

from aiohttp import web


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    from .app import make_app

    web.run_app(make_app(), host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8080")),
                print=None, access_log=None, handle_signals=True, shutdown_timeout=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
