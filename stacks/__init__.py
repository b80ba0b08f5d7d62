"""Stack compositions: one ``provision`` per platform, composed in one place (``stacks.common.compose``).

The typed config lives in ``triton_platform.config``; nothing below ``stacks`` imports it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from stacks.common import CloudPlatform, compose
from triton_platform.config import PlatformConfig

# cloud -> module; imported lazily so a local stack never loads the cloud SDKs.
COMPOSITIONS = {"local": "stacks.local", "aws": "stacks.aws", "gcp": "stacks.gcp", "azure": "stacks.azure"}


def provision(cfg: PlatformConfig, base_dir: Path) -> CloudPlatform:
    """The cluster, storage and cloud-specific outputs of ``cfg.cloud``'s platform."""
    module = importlib.import_module(COMPOSITIONS[cfg.cloud])
    platform: CloudPlatform = module.provision(cfg, base_dir)
    return platform


def build_stack(cfg: PlatformConfig, base_dir: Path) -> dict[str, Any]:
    """Compose the platform for ``cfg.cloud`` and return the stack outputs."""
    return compose(cfg, provision(cfg, base_dir), base_dir)
