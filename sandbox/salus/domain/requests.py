"""Request bodies validated by pydantic models, failing the way Spring's bean validation does.

Why ``Any`` fields with validators instead of typed fields: Jackson + bean validation report every
failing field by name and never coerce (``"30"`` is not a valid ``pollerTimeout`` for the rules
the sandbox plays); pydantic's coercion and its own messages would change the contract's answers.
Each model lists its fields in the order the real service reports them; :func:`checked` turns
pydantic's errors into the one 400 ``One or more field validations failed: a, b``.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .errors import validation_failed

M = TypeVar("M", bound="Request")


class Request(BaseModel):
    """Base of the request models: unknown properties ignored (Jackson), defaults validated too."""

    model_config = ConfigDict(extra="ignore", validate_default=True)


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
        bad += [field_path(tuple(err["loc"])) for err in e.errors()]
        parsed = None
    if bad or parsed is None:
        raise validation_failed(bad)
    return parsed
