"""The configuration reference (docs/configuration.md), generated from the schema's own field descriptions.

Every ``triton-platform:`` key is a pydantic field of ``triton_platform.config.schema`` (model specs:
``triton_platform.publisher.spec``) with a ``description=``; this module walks those models and
writes one table row per key: its camelCase path, type, default and description. The page keeps
its hand-written parts; only the block between the markers is generated, and
``tests/docs/test_pages.py`` fails when it is stale:

  python -m triton_platform.config.reference            # print the generated block
  python -m triton_platform.config.reference --write    # rewrite it in docs/configuration.md
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from triton_platform.config.schema import NAMESPACE, PlatformConfig
from triton_platform.publisher.spec import ModelSpec

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"
PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation)


def _strip_optional(annotation: Any) -> Any:
    """``X | None`` -> ``X`` (None is the "left out" default, shown in the default column)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in _args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _model(annotation: Any) -> type[BaseModel] | None:
    inner = _strip_optional(annotation)
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def type_name(annotation: Any) -> str:
    """A short, readable type: ``string``, ``integer``, ```a` | `b```, ``list of string``, ..."""
    inner = _strip_optional(annotation)
    origin = typing.get_origin(inner)
    if origin is typing.Annotated:
        return type_name(_args(inner)[0])
    if origin is Literal:
        return " | ".join(f"`{a}`" for a in _args(inner))
    if origin is list:
        return f"list of {type_name(_args(inner)[0])}"
    if origin is dict:
        key, value = _args(inner)
        return f"map {type_name(key)} -> {type_name(value)}"
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return "mapping"
    if inner in _SCALARS:
        return _SCALARS[inner]
    alias = getattr(inner, "__value__", None)  # a `type X = ...` alias
    return type_name(alias) if alias is not None else str(inner)


def default_text(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
        items = ", ".join(json.dumps(v.model_dump(by_alias=True, exclude_none=True)) for v in value)
        return f"`[{items}]`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rows(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """(key, type, default, description) of every field of ``model``, nested models after their key."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        yield key, type_name(field.annotation), default_text(field), field.description or ""
        annotation = _strip_optional(field.annotation)
        nested = _model(annotation)
        if nested is not None:
            yield from rows(nested, f"{key}.")
        elif typing.get_origin(annotation) is dict and _model(_args(annotation)[1]) is not None:
            value_model = _model(_args(annotation)[1])
            assert value_model is not None
            yield from rows(value_model, f"{key}.<name>.")


def undescribed() -> list[str]:
    """Every key without a ``description=`` (the reference would have nothing to say about it)."""
    return [key for model in (PlatformConfig, ModelSpec) for key, _, _, text in rows(model) if not text]


def table(model: type[BaseModel], prefix: str = "") -> str:
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{k}` | {_cell(t)} | {_cell(d)} | {_cell(m)} |" for k, t, d, m in rows(model, prefix)]
    return "\n".join(lines) + "\n"


def generate() -> str:
    """The block between the markers of docs/configuration.md."""
    return (
        "<!-- Generated by `python -m triton_platform.config.reference --write` from the field descriptions of "
        "triton_platform/config/schema.py and triton_platform/publisher/spec.py: edit those, not this block. -->\n\n"
        f"### Stack keys (`{NAMESPACE}:<key>`)\n\n"
        f"{table(PlatformConfig)}\n"
        "### Model specs (each entry of `models`)\n\n"
        f"{table(ModelSpec)}"
    )


def between_markers(text: str) -> str | None:
    if START not in text or END not in text:
        return None
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def rewrite(text: str) -> str:
    """``text`` with the generated block between the markers replaced by the current one."""
    if between_markers(text) is None:
        raise ValueError(f"no {START} ... {END} block")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    return f"{head}{START}\n{generate()}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m triton_platform.config.reference", description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"rewrite the block in {PAGE.name}")
    args = parser.parse_args(argv)
    if args.write:
        PAGE.write_text(rewrite(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(generate())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
