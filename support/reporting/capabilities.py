"""Skip, with a reason, the scenarios whose ``@needs:<capability>`` the profile lacks.

Why tags: the spec says what it needs in one word next to its severity, the profile says what it
has (the scenario's pack: ``Pack.capabilities(section)``), and a real environment without, say,
admin credentials gets a SKIP that names the missing setting instead of a red herring failure.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

PREFIX = "needs:"


def needed(tags: Iterable[str]) -> list[str]:
    return sorted({t[len(PREFIX):] for t in tags if t.startswith(PREFIX)})


def skip_reason(tags: Iterable[str], capabilities: set[str], profile: str,
                how_to_enable: Mapping[str, str] | Callable[[str], str] | None = None) -> str | None:
    """None when the profile can run the scenario; else one sentence saying what is missing.

    ``how_to_enable`` comes from the scenario's pack declaration: its ``enable_hint`` (or a mapping).
    """
    missing = [c for c in needed(tags) if c not in capabilities]
    if not missing:
        return None
    how = how_to_enable or {}
    hint = how if callable(how) else (lambda c: how.get(c, "see the profile docs"))
    hows = "; ".join(f"{c}: {hint(c)}" for c in missing)
    return f"profile {profile} lacks capability {', '.join(missing)} — needs {hows}"
