"""The publishing stack of the release tests: the real ModelVersion provider, then its release kept.

``DevStack(store, base).publish(seed)`` publishes the Python model ``MODEL`` (ONNX from ``seed``)
into ``store`` and keeps its release as the stack's ReleasePromotion (mode publish) does, with the
props as they cross the wire.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.providers.model_version import ModelVersionProvider
from components.providers.release_promotion import ReleasePromotionArgs, ReleasePromotionProvider
from tests.support.fakes import wire_floats
from tests.support.served import cpu_props, python_onnx_source, python_spec
from triton_platform.release.manifest import Release, manifest_from_published

MODEL = "pyonnx"


class DevStack:
    """The publishing stack: the real ModelVersion provider into moto, then its release kept."""

    def __init__(self, store: dict[str, Any], base: Path) -> None:
        self.store_ref, self.base = store, base
        self.provider = ModelVersionProvider()
        self.keeper = ReleasePromotionProvider()
        self.outs: dict[str, Any] | None = None
        self.kept: dict[str, Any] | None = None

    def publish(self, seed: int) -> Release:
        python_onnx_source(self.base, MODEL, seed)
        props = cpu_props(python_spec(MODEL), self.store_ref, self.base)
        if self.outs is None:
            result = self.provider.create(props).outs
        else:
            result = self.provider.update("id", self.outs, props).outs
        assert result is not None
        self.outs = dict(result)
        manifest = manifest_from_published(str(result["ngc_release"]), [result])
        release = Release.of(manifest, self.store_ref)
        # What the stack's ReleasePromotion (mode publish) does, its props as they cross the wire.
        props = wire_floats(
            ReleasePromotionArgs(
                mode="publish",
                digest=release.digest,
                manifest=manifest.to_json(),
                source_store=self.store_ref,
                target_store=self.store_ref,
            ).props()
        )
        kept = self.keeper.create(props).outs if self.kept is None else self.keeper.update("id", self.kept, props).outs
        assert kept is not None
        assert kept["digest"] == release.digest
        assert kept["history"][0]["digest"] == release.digest
        self.kept = dict(kept)
        return release
