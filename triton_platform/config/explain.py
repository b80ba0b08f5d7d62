"""The schema's own errors in the user's words: one ``Issue`` per pydantic error.

pydantic says what is wrong in terms of Python types and regexes; a user reads YAML. Each
error becomes an ``Issue`` with the key path in camelCase and:

- an unknown key: the valid key at that level it most resembles ("did you mean `replicas`?",
  ``difflib``), or the valid keys there;
- a wrong value: the value as YAML read it, and the field's declared example (or its default);
- a version that YAML read as a number (``kubernetesVersion: 1.30`` is the float 1.3): what
  YAML made of it and the quoted text to write instead;
- a pattern: what it asks for in words, not the regex.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticUndefined

from triton_platform.config.errors import Issue
from triton_platform.config.schema import (
    AWS_REGION_PATTERN,
    BUCKET_PATTERN,
    CPU_PATTERN,
    DNS_LABEL,
    KUBERNETES_VERSION_PATTERN,
    MEMORY_PATTERN,
    MIG_CONFIG_PATTERN,
    MIG_PROFILE_PATTERN,
    NAMESPACE,
    NGC_RELEASE_PATTERN,
    PREFIX_PATTERN,
    PlatformConfig,
)
from triton_platform.publisher.spec import NAME_PATTERN

Loc = tuple[int | str, ...]

# What a pattern of the schema asks for, in words (pydantic would print the regex).
PATTERN_MEANING = {
    DNS_LABEL: "must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most 40 characters",
    KUBERNETES_VERSION_PATTERN: "must be a supported Kubernetes minor version, 1.28 or newer",
    BUCKET_PATTERN: "must be a bucket name: 3-63 lowercase letters, digits, '.' and '-'",
    MIG_PROFILE_PATTERN: "must be a MIG profile name like '1g.5gb'",
    PREFIX_PATTERN: "must be a path of letters, digits, '_', '.', '-' without leading or trailing '/'",
    MIG_CONFIG_PATTERN: "must be a mig-manager layout name and a label value: at most 63 lowercase letters, digits, "
    "'-', '_', '.', starting and ending with a letter or digit (media extensions are '.me', e.g. 'all-1g.5gb.me')",
    AWS_REGION_PATTERN: "must be an AWS region name",
    MEMORY_PATTERN: "must be a Kubernetes memory quantity in Ki/Mi/Gi/Ti",
    CPU_PATTERN: "must be a Kubernetes CPU quantity: cores ('2', '0.5') or millicores ('500m')",
    NGC_RELEASE_PATTERN: "must be an NGC release 'YY.MM'",
    NAME_PATTERN: "must be a Triton model name: letters, digits, '_', '.', '-' (at most 63)",
}

# pydantic error types whose message does not show the value it refused: the issue repeats it.
_SHOWS_NO_VALUE = {
    "literal_error",
    "enum",
    "string_pattern_mismatch",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "string_too_short",
    "string_too_long",
    "too_short",
    "too_long",
    "int_from_float",
    "multiple_of",
    "finite_number",
}
_GOT_MAX = 60  # characters of a refused value repeated in the message


def key_path(loc: Loc) -> str:
    """The full key of a location: ``("models", 0, "name")`` -> ``triton-platform:models[0].name``."""
    out = NAMESPACE
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i == 0:
            out += f":{part}"
        else:
            out += f".{part}"
    return out


def as_yaml(value: Any) -> str:
    """A value as a YAML user reads it (``true``, ``'text'``, ``1.3``), cut short when long."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, str | int | float):
        text = repr(value)
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= _GOT_MAX else text[: _GOT_MAX - 1] + "…"


def strip_validator_loc(loc: Loc) -> Loc:
    # pydantic puts union/function tags in loc ("function-after[...]"): drop them.
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("str", "int"))))


def inner_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds: itself, or inside Optional / list / dict."""
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for sub in getattr(arg, "__args__", ()):
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                return sub
    return None


def origins(annotation: Any) -> set[Any]:
    """The generic types a field's annotation is made of: ``list[X] | None`` -> {list, ...}."""
    return {get_origin(a) for a in (annotation, *getattr(annotation, "__args__", ()))}


def field_named(model: type[BaseModel], part: str) -> FieldInfo | None:
    """A model's field by the name or the alias a user wrote."""
    return next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)


def walk(loc: Loc) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    """The model that holds the last key of ``loc`` and that key's field (None when unknown).

    List indexes and the keys of a mapping (``models[0].shapes.INPUT0``) are stepped over.
    """
    current: Any = PlatformConfig
    owner: type[BaseModel] | None = None
    field: FieldInfo | None = None
    dict_key_next = False
    for part in loc:
        if isinstance(part, int):
            continue
        if dict_key_next:
            dict_key_next = False
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None, None
        owner, field = current, field_named(current, part)
        if field is None:
            return owner, None
        dict_key_next = dict in origins(field.annotation)
        current = inner_model(field.annotation)
    return owner, field


def example_for(field: FieldInfo | None) -> str | None:
    """The field's declared example, else its default when that is a plain value (e.g. ``true``)."""
    if field is None:
        return None
    if field.examples:
        example = field.examples[0]
        return repr(example) if isinstance(example, str) else str(example)
    default = field.default
    if default is PydanticUndefined or default is None or not isinstance(default, bool | int | float | str):
        return None
    return as_yaml(default)


def unknown_key_reason(bad: str, valid: Sequence[str]) -> str:
    """An unknown key: the valid key at that level it most resembles, or the valid keys there."""

    def norm(k: str) -> str:
        return k.replace("_", "").replace("-", "").lower()

    # Imported here: only a wrong key needs it, and every program evaluation would pay its import.
    import difflib

    by_norm = {norm(k): k for k in valid}
    close = difflib.get_close_matches(norm(bad), list(by_norm), n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean `{by_norm[close[0]]}`?"
    listed = f"; valid keys here: {', '.join(valid)}" if valid else ""
    return f"unknown key (check spelling; keys are camelCase){listed}"


def _quoted(value: int | float, field: FieldInfo | None) -> str:
    """The text a number most likely was before YAML read it: '1.30' for 1.3 where the field's pattern asks so."""
    text = repr(value)
    patterns = [getattr(m, "pattern", None) for m in (field.metadata if field else ())]
    pattern = next((p for p in patterns if isinstance(p, str)), None)
    candidates = [text, text + "0"] if isinstance(value, float) else [text]
    if pattern:
        return next((c for c in candidates if re.fullmatch(pattern, c)), text)
    return text


def _number_for_text(value: int | float, field: FieldInfo | None) -> str:
    quoted = _quoted(value, field)
    lost = f" (an unquoted {quoted} loses its trailing zero)" if quoted != repr(value) else ""
    return f"YAML read this unquoted value as the number {value!r}, not text{lost}; quote it: '{quoted}'"


def _reason(e: ErrorDetails, owner: type[BaseModel] | None, field: FieldInfo | None, loc: Loc) -> str:
    kind, msg, value = e["type"], e["msg"], e.get("input")
    if kind == "extra_forbidden":
        valid = [f.alias or n for n, f in owner.model_fields.items()] if owner else []
        return unknown_key_reason(str(loc[-1]), valid)
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return _number_for_text(value, field)
    if kind == "string_pattern_mismatch":
        msg = PATTERN_MEANING.get(str((e.get("ctx") or {}).get("pattern", "")), msg)
    elif msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    if "input" in e and (kind in _SHOWS_NO_VALUE or kind.endswith(("_type", "_parsing"))):
        msg += f"; got {as_yaml(value)}"
    return msg


def pydantic_issues(err: ValidationError, at: Loc = ()) -> list[Issue]:
    """One Issue per error of validating ``PlatformConfig`` (or the part of it at ``at``), in pydantic's order."""
    issues: list[Issue] = []
    for e in err.errors(include_url=False):
        loc = (*at, *strip_validator_loc(tuple(e["loc"])))
        owner, field = walk(loc)
        example = None if e["type"] == "extra_forbidden" else example_for(field)
        issues.append(Issue(key_path(loc), _reason(e, owner, field, loc), example))
    return issues
