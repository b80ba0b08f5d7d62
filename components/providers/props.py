"""What the dynamic providers' props are made of, and how a provider reads them back and reports bad ones.

The stacks hand typed ``StoreRef`` / ``BuilderRef`` objects down; a resource turns them into its
props here (``store_props``, ``builder_props``) and its provider parses them back into the same
models (``parse_store``, ``parse_builder``): props cross the wire as protobuf Structs, where every
number arrives as a float. The dict forms are part of every existing stack's state, so they stay
exactly what the stacks always sent (no update, no output diff after an upgrade).

``validation_failures`` is the one way both providers turn a pydantic ValidationError on their
props into what ``pulumi preview`` prints: one failure per bad field, named by its prop path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.runtime import rpc
from pydantic import BaseModel, ValidationError

from triton_platform.publisher.builders import BuilderRef
from triton_platform.publisher.stores import StoreRef
from triton_platform.publisher.wire import restore_ints


def unknown(value: Any) -> bool:
    """True when a preview has not resolved ``value`` (or anything inside it) yet."""
    if isinstance(value, str):
        return value == rpc.UNKNOWN
    if isinstance(value, Mapping):
        return any(unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(unknown(v) for v in value)
    return False


def store_props(ref: StoreRef) -> dict[str, Any]:
    """The store as props: every field that is set (None left out), credentials by reference only.

    Azure keeps the form its stack always wrote: ``endpoint_url`` and ``region`` null, and the
    credentials by their source and what differs from the defaults.
    """
    props = ref.model_dump(mode="json", exclude_none=True)
    if ref.kind == "azure":
        credentials = ref.credentials.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        props.update(
            endpoint_url=None,
            region=ref.region,
            credentials={"source": ref.credentials.source, **credentials},
        )
    return props


def builder_props(ref: BuilderRef) -> dict[str, Any]:
    """The builder as props: its kind and the fields the stack set (the form the stacks always sent)."""
    return {"kind": ref.kind, **ref.model_dump(mode="json", exclude_unset=True)}


def store_input(store: StoreRef | pulumi.Output[Any]) -> pulumi.Input[dict[str, Any]]:
    """``store_props`` of a store known now, or once its Output resolves (a generated bucket name).

    An Output may also resolve to the store's dict form; it is parsed (and checked) then.
    """
    if isinstance(store, pulumi.Output):
        return store.apply(lambda value: store_props(value if isinstance(value, StoreRef) else parse_store(value)))
    return store_props(store)


def store_arg(value: Any) -> StoreRef | pulumi.Output[Any]:
    """A component arg's store: a StoreRef (a dict is parsed into one, failing now) or an Output of one."""
    return value if isinstance(value, StoreRef | pulumi.Output) else StoreRef.model_validate(value)


def parse_store(value: Any) -> StoreRef:
    return StoreRef.model_validate(restore_ints(value))


def parse_builder(value: Any) -> BuilderRef:
    return BuilderRef.model_validate(restore_ints(value if value else {"kind": "local"}))


def validation_failures(err: ValidationError, prefix: str = "") -> list[pulumi.dynamic.CheckFailure]:
    """One CheckFailure per error, named by its prop path (``spec.maxBatchSize``), saying why."""
    failures = []
    for e in err.errors():
        where = ".".join(p for p in (prefix, ".".join(str(part) for part in e["loc"])) if p) or "inputs"
        failures.append(pulumi.dynamic.CheckFailure(where, f"{where}: {e['msg']}"))
    return failures


def validation_message(err: ValidationError, prefix: str = "") -> str:
    """The failures of ``validation_failures`` as one message (for an error raised at run time)."""
    return "; ".join(f.reason for f in validation_failures(err, prefix))


def check_parts(props: Mapping[str, Any], parts: Mapping[str, type[BaseModel]]) -> list[pulumi.dynamic.CheckFailure]:
    """Validate each prop of ``parts`` that is present and known against its model; the failures."""
    failures: list[pulumi.dynamic.CheckFailure] = []
    for key, model in parts.items():
        value = props.get(key)
        if value is None or unknown(value):
            continue
        try:
            model.model_validate(restore_ints(value))
        except ValidationError as err:
            failures.extend(validation_failures(err, key))
    return failures


def required(props: Mapping[str, Any], keys: tuple[str, ...]) -> list[pulumi.dynamic.CheckFailure]:
    """A failure for each of ``keys`` the props lack."""
    return [pulumi.dynamic.CheckFailure(key, f"{key} is required") for key in keys if props.get(key) is None]


__all__ = [
    "builder_props",
    "check_parts",
    "parse_builder",
    "parse_store",
    "required",
    "store_arg",
    "store_input",
    "store_props",
    "unknown",
    "validation_failures",
    "validation_message",
]
