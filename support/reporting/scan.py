"""Redaction scan: prove no secret reached a report file or the console.

Used by the tests (plant known secrets, run, scan everything) and usable after any real run
(``python -m support.reporting.scan reports/`` with the secrets in the environment).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Header or JSON shapes that carry a credential; a value other than *** next to them is a leak.
LEAK_SHAPES = [
    re.compile(r"X-Auth-Token:\s*(?!\*\*\*)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE),
    re.compile(r'"(?:apiKey|password|token)"\s*:\s*"(?!\*\*\*)[^"]{4,}"'),
]


@dataclass(frozen=True)
class Leak:
    where: str
    what: str          # which secret (never the value itself) or shape

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def scan_text(text: str, secrets: Iterable[str], where: str) -> list[Leak]:
    """Leaks in one text: any known secret value, or a credential-shaped field with a clear value."""
    leaks = [Leak(where, f"secret #{i} ({len(s)} chars)") for i, s in enumerate(secrets) if s and s in text]
    leaks += [Leak(where, f"shape {p.pattern[:30]}…") for p in LEAK_SHAPES if p.search(text)]
    return leaks


def scan_tree(root: Path, secrets: Iterable[str]) -> tuple[list[Leak], int]:
    """Scan EVERY file under root (binary files as latin-1 text); returns the leaks and the file count."""
    secrets = [s for s in secrets if s]
    leaks: list[Leak] = []
    count = 0
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        count += 1
        text = path.read_bytes().decode("latin-1")
        leaks += scan_text(text, secrets, str(path.relative_to(root)))
    return leaks, count


def main(argv: list[str] | None = None) -> int:
    import os
    import sys

    args = argv if argv is not None else sys.argv[1:]
    root = Path(args[0] if args else "reports")
    secrets = [v for k, v in os.environ.items() if k.startswith("E2ET_") and any(
        w in k for w in ("KEY", "PASSWORD", "TOKEN", "SECRET")) and v]
    leaks, count = scan_tree(root, secrets)
    for leak in leaks:
        print(f"LEAK {leak}")
    print(f"scanned {count} files under {root}: {len(leaks)} leaks")
    return 1 if leaks else 0


if __name__ == "__main__":
    raise SystemExit(main())
