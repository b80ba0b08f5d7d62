"""Object stores holding the model repository: S3 (and MinIO), GCS and Azure Blob behind one interface.

``StoreRef`` (in ``ref``) says where a store is; ``open_store`` here turns it into the backend's
``ObjectStore``. The package owns the factory so that ``base`` imports no backend: each backend
module (``s3``, ``gcs``, ``azure_blob``) is imported only when a store of its kind is opened, so
a stack on one cloud never loads the other clouds' SDK modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from triton_platform.publisher.stores.ref import CredentialsRef, StoreKind, StoreRef, join_key

if TYPE_CHECKING:
    from triton_platform.publisher.stores.base import ObjectInfo, ObjectStore


def __getattr__(name: str) -> Any:
    # ``base`` (the store protocol and the transfers) loads on first use: the Pulumi program
    # needs ``StoreRef`` only, the provider host opens stores (PEP 562).
    if name in ("ObjectInfo", "ObjectStore"):
        from triton_platform.publisher.stores import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_store(ref: StoreRef | Mapping[str, Any]) -> ObjectStore:
    """The ObjectStore for ``ref`` (a StoreRef, or its dict form as dynamic-provider props carry it)."""
    if not isinstance(ref, StoreRef):
        ref = StoreRef.model_validate(ref)
    # Lazy on purpose: the backend modules sit below this package and pull in their cloud's SDK.
    if ref.kind == "s3":
        from triton_platform.publisher.stores.s3 import S3Store

        return S3Store(ref)
    if ref.kind == "gcs":
        from triton_platform.publisher.stores.gcs import GcsStore

        return GcsStore(ref)
    from triton_platform.publisher.stores.azure_blob import AzureBlobStore

    return AzureBlobStore(ref)


__all__ = ["CredentialsRef", "ObjectInfo", "ObjectStore", "StoreKind", "StoreRef", "join_key", "open_store"]
