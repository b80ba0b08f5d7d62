"""The structural pass: the schema's types and keys, keeping every part of the config that is valid.

``check_structure`` returns a valid configuration as it is. For an invalid one it returns every
schema error as an issue *and* a partial ``PlatformConfig`` made of the parts that did validate
(pydantic's ``model_construct``, model by model, key by key), so the cross-key rules still run on
them: one message, every problem.

- A key that failed is left out of its model: a rule that reads it raises ``UnvalidatedKey``
  and is skipped (``triton_platform.config.rules.semantic_issues``); its own issue says what to fix.
- A model with a cross-key rule of its own (a pydantic model validator, e.g. ``minNodes <=
  maxNodes``) is kept only whole: that rule cannot run on keys that failed.
- An unknown key hides its model's own rule from pydantic (which stops at the unknown key): the
  model is validated again without it, so what that rule finds joins the message too.
- An entry of a list of models that failed (``models[1]``) stands in as an object that raises
  ``UnvalidatedKey`` on every attribute: rules that walk the list are skipped, rules that count it run.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from triton_platform.config.errors import Issue
from triton_platform.config.explain import Loc, inner_model, origins, pydantic_issues, strip_validator_loc
from triton_platform.config.schema import PlatformConfig, UnvalidatedKey

M = TypeVar("M", bound=BaseModel)
# One schema error: where (relative to the model being rebuilt) and pydantic's error type.
SchemaError = tuple[Loc, str]


class _UnvalidatedItem:
    """Stands in for a list entry that failed; any attribute read says so."""

    def __getattr__(self, item: str) -> Any:
        raise UnvalidatedKey(f"a list entry did not validate (read: {item})")

    def __repr__(self) -> str:
        return "<entry that did not validate>"


UNVALIDATED_ITEM = _UnvalidatedItem()
_FAILED = object()  # a key whose value did not validate


def check_structure(data: Mapping[str, Any]) -> tuple[PlatformConfig | None, list[Issue]]:
    """The configuration (partial when it has errors, None when nothing of it is usable) and its issues."""
    try:
        return PlatformConfig.model_validate(data), []
    except ValidationError as err:
        issues = pydantic_issues(err)
        errors = [(strip_validator_loc(tuple(e["loc"])), e["type"]) for e in err.errors(include_url=False)]
    partial = _partial(PlatformConfig, data, errors, (), issues)
    return partial, issues


def _is_unknown(error: SchemaError) -> bool:
    loc, kind = error
    return len(loc) == 1 and kind == "extra_forbidden"


def _partial(model: type[M], raw: Any, errors: list[SchemaError], at: Loc, found: list[Issue]) -> M | None:
    """``model`` from ``raw`` with the keys that failed left out; None when nothing of it can be kept.

    ``errors`` are the schema errors under ``at`` (the model's location); issues found only now
    (a model rule an unknown key hid) are added to ``found``.
    """
    if not isinstance(raw, Mapping) or any(loc == () for loc, _ in errors):
        return None  # not a mapping, or the model's own rule failed
    wrong = [e for e in errors if not _is_unknown(e)]
    if not wrong:
        return _without_unknown(model, raw, {e[0][0] for e in errors}, at, found)
    if model.__pydantic_decorators__.model_validators:
        return None  # its own cross-key rule could not run on the keys that failed
    values: dict[str, Any] = {}
    given: set[str] = set()
    for name, field in model.model_fields.items():
        as_given = next((k for k in (field.alias, name) if k and k in raw), None)
        if as_given is None:
            continue  # left out: model_construct puts the default
        given.add(name)
        mine = [(loc[1:], kind) for loc, kind in wrong if loc[0] == as_given]
        value = raw[as_given]
        value = _part(field, value, mine, (*at, as_given), found) if mine else _valid(model, name, value)
        if value is not _FAILED:
            values[name] = value
    instance = model.model_construct(_fields_set=given, **values)
    for name in given - values.keys():
        instance.__dict__.pop(name, None)  # not even the default stands in for a key that failed
    return instance


def _without_unknown(
    model: type[M], raw: Mapping[str, Any], unknown: set[Any], at: Loc, found: list[Issue]
) -> M | None:
    """The model validated again without its unknown keys: its own rules run (and may fail) now."""
    try:
        return model.model_validate({k: v for k, v in raw.items() if k not in unknown})
    except ValidationError as err:
        found += pydantic_issues(err, at)
        return None


def _part(field: FieldInfo, value: Any, errors: list[SchemaError], at: Loc, found: list[Issue]) -> Any:
    """The valid part of one key's value: a nested model rebuilt, a list with its failed entries marked."""
    sub = inner_model(field.annotation)
    if sub is None or any(loc == () for loc, _ in errors):
        return _FAILED
    kinds = origins(field.annotation)
    if list in kinds and isinstance(value, Sequence) and not isinstance(value, str):
        return [_entry(sub, i, item, errors, at, found) for i, item in enumerate(value)]
    if dict in kinds:
        return _FAILED
    rebuilt = _partial(sub, value, errors, at, found)
    return _FAILED if rebuilt is None else rebuilt


def _entry(model: type[BaseModel], i: int, item: Any, errors: list[SchemaError], at: Loc, found: list[Issue]) -> Any:
    mine = [(loc[1:], kind) for loc, kind in errors if loc and loc[0] == i]
    if not mine:
        try:
            return _adapter(model).validate_python(item)
        except ValidationError:
            return UNVALIDATED_ITEM
    if isinstance(item, Mapping) and all(_is_unknown(e) for e in mine):
        entry = _without_unknown(model, item, {e[0][0] for e in mine}, (*at, i), found)
        return UNVALIDATED_ITEM if entry is None else entry
    return UNVALIDATED_ITEM


def _valid(model: type[BaseModel], name: str, value: Any) -> Any:
    """A value the schema accepted, validated again on its own to get its typed form (4.0 -> 4, models)."""
    try:
        return _field_adapter(model, name).validate_python(value)
    except ValidationError:
        return _FAILED  # valid only in its model's context: leave it out rather than guess


@functools.cache
def _field_adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    field = model.model_fields[name]
    typ: Any = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    return TypeAdapter(typ)


@functools.cache
def _adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(model)
