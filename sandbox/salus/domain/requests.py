"""Request bodies validated by pydantic models, failing the way Spring's bean validation does.

Why ``Any`` fields with validators instead of typed fields: Jackson + bean validation report every
failing field by name and never coerce (``"30"`` is not a valid ``pollerTimeout`` for the rules
the sandbox plays); pydantic's coercion and its own messages would change the contract's answers.
Each model lists its fields in the order the real service reports them; :func:`checked` turns
pydantic's errors into the one 400 ``One or more field validations failed: a, b``. A polymorphic
or recursive property (monitor ``details``, task ``taskParameters``) is checked by a tree walk
that raises :class:`Invalid` with every failing nested path, as bean validation reports them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .errors import validation_failed

M = TypeVar("M", bound="Request")


class Request(BaseModel):
    """Base of the request models: unknown properties ignored (Jackson), defaults validated too."""

    model_config = ConfigDict(extra="ignore", validate_default=True)


class Invalid(ValueError):
    """One property failing at one or more nested paths (``details.plugin.host``, ...)."""

    def __init__(self, paths: list[str]) -> None:
        super().__init__(", ".join(paths))
        self.paths = paths


def walked(*fields: str, walk: Callable[[Any, list[str]], None]) -> Any:
    """A field validator running ``walk(value, bad)``; any paths it appends fail the field."""
    def check(cls: type, value: Any) -> Any:
        bad: list[str] = []
        walk(value, bad)
        if bad:
            raise Invalid(bad)
        return value
    return field_validator(*fields)(check)


def rule(*fields: str, ok: Callable[[Any], bool], why: str) -> Any:
    """A field validator for ``fields``: the value stays as sent, and fails (``why``) unless ``ok(value)``."""
    def check(cls: type, value: Any) -> Any:
        if not ok(value):
            raise ValueError(why)
        return value
    return field_validator(*fields)(check)


def field_path(loc: tuple[Any, ...]) -> str:
    """``("a", "b", 0, "c")`` → ``a.b[0].c`` (how bean validation names a nested property)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def checked(model: type[M], body: dict[str, Any], first: list[str] | None = None,
            context: dict[str, Any] | None = None) -> M:
    """The validated request, or 400 naming ``first`` (class-level failures) and then every failing field."""
    bad = list(first or [])
    try:
        parsed = model.model_validate(body, context=context)
    except ValidationError as e:
        for err in e.errors():
            cause = (err.get("ctx") or {}).get("error")
            bad += cause.paths if isinstance(cause, Invalid) else [field_path(tuple(err["loc"]))]
        parsed = None
    if bad or parsed is None:
        raise validation_failed(bad)
    return parsed
