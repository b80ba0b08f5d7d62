"""Rules of ``release`` (promotion) against ``models``: a stack serves one or the other."""

from __future__ import annotations

from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig


def models_or_release_issues(cfg: PlatformConfig) -> list[Issue]:
    """Models published here, or a release promoted from another stack: exactly one of the two."""
    if cfg.models and cfg.release is not None:
        return [
            Issue(
                key("release"),
                "set either models (publish them here) or release (serve another stack's tested release), "
                "not both; a promoted release is exactly the upstream's models",
                "{fromStack: acme/triton-platform/dev, digest: 'sha256:...'} and no models",
            )
        ]
    if not cfg.models and cfg.release is None:
        return [
            Issue(
                key("models"),
                "at least one model (or a release to promote) is needed: Triton does not start on an empty "
                "model repository",
                "[{name: sample-mlp, source: samples/sample-mlp/model.onnx, format: onnx}]",
            )
        ]
    return []
