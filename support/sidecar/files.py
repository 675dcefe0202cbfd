"""The files a deployment exposes to a black-box suite: the StatusStore JSON (read), the audit
log (read, from an offset so a spec sees only its own lines) and the chaos control (write)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def read_status_store(path: Path) -> dict[str, Any] | None:
    """The store's items, or None when the file is missing or unreadable (a skip, not a failure)."""
    try:
        data = json.loads(Path(path).read_text() or "{}")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class AuditTail:
    """Lines appended to the audit log after ``mark()``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.offset = 0

    def available(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except OSError:
            return False

    def mark(self) -> None:
        try:
            self.offset = self.path.stat().st_size
        except OSError:
            self.offset = 0

    def raw_lines(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        return [line for line in data.decode(errors="replace").splitlines() if line.strip()]

    def events(self) -> tuple[list[dict[str, Any]], list[str]]:
        """(parsed lines, lines that are not a JSON object)."""
        parsed: list[dict[str, Any]] = []
        bad: list[str] = []
        for line in self.raw_lines():
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                parsed.append(obj)
            else:
                bad.append(line[:200])
        return parsed, bad


class ChaosControl:
    """Writes the chaos flags file the explainer re-reads (as the contract's injector: atomic)."""

    FLAGS = ("fail-attribution", "slow-sae", "drop-s3", "rate-limit-spike")

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def writable(self) -> bool:
        parent = self.path.parent
        return parent.is_dir() and os.access(parent, os.W_OK) and (not self.path.exists()
                                                                  or os.access(self.path, os.W_OK))

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text() or "{}")
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def write(self, flags: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.e2et.tmp")
        tmp.write_text(json.dumps(flags, indent=2))
        os.replace(tmp, self.path)

    def enable(self, flag: str, **settings: Any) -> None:
        self.write({**self.read(), flag: {"enabled": True, **settings}})

    def disable_all(self) -> None:
        self.write({**self.read(), **{f: {"enabled": False} for f in self.FLAGS}})
