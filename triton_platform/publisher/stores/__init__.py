"""Object stores holding the model repository: S3 (and MinIO), GCS and Azure Blob behind one interface.

``open_store(StoreRef)`` picks the backend; SDKs are imported only when a store is used.
"""

from triton_platform.publisher.stores.base import (
    CredentialsRef,
    ObjectInfo,
    ObjectStore,
    StoreKind,
    StoreRef,
    join_key,
    open_store,
)

__all__ = ["CredentialsRef", "ObjectInfo", "ObjectStore", "StoreKind", "StoreRef", "join_key", "open_store"]
