"""The chaos control file (contract §8), re-read when its mtime changes; missing or unreadable
means no chaos."""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any


class Chaos:
    def __init__(self, path: str | None, seed: int = 7) -> None:
        self.path = Path(path) if path else None
        self._stamp: tuple[int, int] | None = None
        self.flags: dict[str, dict[str, Any]] = {}
        self.rng = random.Random(seed)
        self.latched_failure = False        # the chaos-never-recovers fault

    def refresh(self) -> dict[str, dict[str, Any]]:
        if self.path is None:
            return {}
        try:
            st = self.path.stat()
        except OSError:
            self.flags, self._stamp = {}, None
            return self.flags
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                data = json.loads(self.path.read_text() or "{}")
                self.flags = {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self.flags = {}
            self._stamp = stamp
        return self.flags

    def flag(self, name: str) -> dict[str, Any] | None:
        """The flag's settings when it is on (``enabled`` defaults to true), else None."""
        f = self.flags.get(name)
        if f is None or f.get("enabled", True) is False:
            return None
        return f

    def roll(self, name: str) -> dict[str, Any] | None:
        """The flag when it fires for this job (``percent`` 0–100, default 0 = no effect)."""
        f = self.flag(name)
        if f is None:
            return None
        pct = float(f.get("percent", 0) or 0)
        return f if pct > 0 and self.rng.uniform(0, 100) < pct else None
