"""Version ordering for release catalogues: one key, semantic-versioning rules (``semver``).

Why a library: hand-written keys drifted (one sorted ``1.0.0-rc.10`` before ``rc.2``). semver
orders pre-releases numerically field by field and below their release; versions semver cannot
parse (``1.13``, ``latest``) are coerced where possible and otherwise sort first.
"""
from __future__ import annotations

from typing import Any

import semver


def parse(version: str) -> semver.Version | None:
    """The semantic version in ``version`` (a leading ``v`` and missing minor/patch tolerated), else None."""
    text = str(version or "").strip().removeprefix("v")
    try:
        return semver.Version.parse(text, optional_minor_and_patch=True)
    except (ValueError, TypeError):
        return None


def version_key(version: str) -> tuple[int, Any]:
    """Sort key: every parseable version above every unparseable one, then semver order."""
    v = parse(version)
    return (1, v) if v is not None else (0, str(version))
