"""One validation style for the files users write (task definitions, prompt specs): pydantic models.

A model forbids unknown keys; its validators raise ``ValueError`` with a message that names the key.
``check`` turns pydantic's report into one line naming the file and the key, the way japagen's other
errors read: unknown keys first (with the allowed ones), then a missing key, then the first bad value.
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


class Spec(BaseModel):
    """A file config's section: unknown keys are refused; a number where text belongs is taken as text."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def check(model: type[M], data: Any, *, source: str, error: type[Exception], context: dict | None = None) -> M:
    """``model`` validated from ``data``; a problem raises ``error("<source>: <problem>")``."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise error(f"{source}: {describe(exc, model)}") from None


def describe(exc: ValidationError, model: type[BaseModel]) -> str:
    errors = exc.errors(include_url=False)
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    if extra:
        parent = extra[0]["loc"][:-1]
        keys = sorted(_dotted((*parent, e["loc"][-1])) for e in extra if e["loc"][:-1] == parent)
        allowed = sorted(_section(model, parent).model_fields)
        return f"unknown key(s) {keys}; allowed: {allowed}"
    missing = [e for e in errors if e["type"] == "missing"]
    if missing:
        return f"missing key {_dotted(missing[0]['loc'])!r}"
    first = errors[0]
    if first["type"] == "value_error":  # our own validators' messages name the key; add where it sits
        parent = f"{_dotted(first['loc'][:-1])}: " if len(first["loc"]) > 1 else ""
        return f"{parent}{first['ctx']['error']}"
    where = _dotted(first["loc"])
    if first["type"] == "model_type":
        return f"{where or 'the file'} must be a mapping of keys to values"
    return f"{where} {first['input']!r}: {first['msg'][0].lower()}{first['msg'][1:]}"


def _dotted(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _section(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The model of the section at ``loc`` (through lists, dicts and optionals)."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        found = _model_in(field.annotation) if field else None
        if found is None:
            return model
        model = found
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, tuple, dict, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
