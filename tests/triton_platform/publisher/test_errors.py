"""Publisher errors cross process boundaries (pickle, dill) with every part of their message."""

from __future__ import annotations

from triton_platform.publisher.errors import BuildError, StoreError


def test_publisher_errors_pickle_with_their_parts() -> None:
    import pickle

    import dill

    build = BuildError("trtexec failed", model="resnet", key="models[].precision", log_tail="[E] boom")
    store = StoreError("access denied", bucket="acme-models", key="_cache/x", example="grant s3:PutObject")
    for err in (build, store):
        for codec in (pickle, dill):
            again = codec.loads(codec.dumps(err))
            assert type(again) is type(err)
            assert str(again) == str(err)
    assert str(store) == "bucket 'acme-models': _cache/x: access denied (valid example: grant s3:PutObject)"
    assert str(build).startswith("model 'resnet': models[].precision: trtexec failed\n--- build log")
    assert pickle.loads(pickle.dumps(build)).log_tail == "[E] boom"  # noqa: S301 - our own bytes
