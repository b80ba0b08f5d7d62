"""Fixtures of the publisher's tests: the S3 requests the publisher's clients send."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from triton_platform.publisher.stores.s3 import S3Store


@pytest.fixture
def s3_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the S3 operations every S3Store's client sends (boto3's before-call event), in order.

    Clients are shared by the stores of a process, so the handler is registered once per client
    and unregistered afterwards.
    """
    names: list[str] = []
    clients: list[Any] = []
    real = S3Store._client.fget  # type: ignore[attr-defined]

    def record(model: Any, **_: Any) -> None:
        names.append(model.name)

    def client(self: S3Store) -> Any:
        obj = real(self)
        if not any(c is obj for c in clients):
            clients.append(obj)
            obj.meta.events.register("before-call.s3.*", record)
        return obj

    monkeypatch.setattr(S3Store, "_client", property(client))
    yield names
    for obj in clients:
        obj.meta.events.unregister("before-call.s3.*", record)
