"""Rules of ``modelRepository`` that hold on every cloud (bucket names differ per cloud: see its rules)."""

from __future__ import annotations

from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig


def static_keys_issues(cfg: PlatformConfig) -> list[Issue]:
    """``staticKeys`` is the clouds' opt-in to a key Secret; MinIO on kind always uses one."""
    if not (cfg.model_repository.static_keys and cfg.cloud == "local"):
        return []
    return [
        Issue(key("modelRepository.staticKeys"), "MinIO always uses a Secret; staticKeys is the cloud opt-in", None)
    ]
