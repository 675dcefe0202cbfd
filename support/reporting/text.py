"""Shortening a message for a report without losing what it says.

Why: a cap that cuts mid-word (or cuts away the one line that names the cause) turns a good
failure message into a riddle. ``clip`` keeps the first line — the cause — whole, adds further
lines while they fit, cuts only at a word boundary, and marks every cut with an ellipsis.
"""
from __future__ import annotations

ELLIPSIS = "…"


def clip(text: str, limit: int, first_line_whole: bool = True) -> str:
    """``text`` within ``limit`` characters (the first line may exceed it), cut at words, marked ``…``."""
    text = (text or "").strip()
    if len(text) <= limit:
        return text
    lines = text.splitlines()
    head = lines[0]
    if len(head) >= limit:
        return head if first_line_whole else _words(head, limit)
    out = [head]
    used = len(head)
    for line in lines[1:]:
        if used + 1 + len(line) <= limit:
            out.append(line)
            used += 1 + len(line)
            continue
        room = limit - used - 1
        if room > 20:
            out.append(_words(line, room))
        else:
            out[-1] = out[-1] + " " + ELLIPSIS
        break
    return "\n".join(out)


def _words(line: str, limit: int) -> str:
    """The longest prefix of ``line`` ending at a word boundary within ``limit``, plus ``…``."""
    if len(line) <= limit:
        return line
    cut = line[: max(1, limit - 2)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + " " + ELLIPSIS
