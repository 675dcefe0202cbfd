"""Local stand-in of the Async Sidecar (contract: ../shared/sidecar-contract.md).

Real parts: an aiohttp gateway process, an explainer worker process consuming a real Redis stream
(Debian ``redis-server``), a deterministic OpenAI-compatible upstream, the JSON StatusStore, the
audit log, the chaos file, Prometheus metrics and the system's deploy artifacts. The suite knows it
only through the profile file it writes and its fault control.
"""
