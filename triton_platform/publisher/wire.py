"""What dynamic-provider props and stack outputs look like after crossing the wire, and the way back.

Pulumi carries them as protobuf Structs, which have no integers: 4 arrives as 4.0. Everything
that parses props or outputs back into a typed model (StoreRef, BuilderRef, ModelSpec, a release
manifest) first restores the whole numbers here, so the model sees what the program sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def restore_ints(value: Any) -> Any:
    """Floats that are whole numbers back to ints, recursively (protobuf Structs have no ints)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: restore_ints(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [restore_ints(v) for v in value]
    return value


__all__ = ["restore_ints"]
