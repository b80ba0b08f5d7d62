"""Stack compositions: the typed config (config.py) and one composition per platform."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from triton_platform.config import PlatformConfig

# cloud -> module; imported lazily so a local stack never loads the cloud SDKs.
COMPOSITIONS = {"local": "stacks.local", "aws": "stacks.aws", "gcp": "stacks.gcp", "azure": "stacks.azure"}


def build_stack(cfg: PlatformConfig, base_dir: Path) -> dict[str, Any]:
    """Compose the platform for ``cfg.cloud`` and return the stack outputs."""
    module = importlib.import_module(COMPOSITIONS[cfg.cloud])
    outputs: dict[str, Any] = module.build(cfg, base_dir)
    return outputs
