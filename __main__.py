"""triton-platform: one typed stack config -> cluster, bucket, monitoring, models, Triton."""

from pathlib import Path
from typing import Any

import pulumi

from stacks import build_stack
from stacks.release import resolve_upstream
from triton_platform.config import load_config

BASE_DIR = Path(__file__).resolve().parent

config = load_config(BASE_DIR)  # fails before any resource is registered if the config is bad


async def main() -> dict[str, Any]:
    # A pinned release (triton-platform:release) is read from its stack and checked first: a wrong
    # digest, Triton release or missing engine fails before any other resource is registered.
    await resolve_upstream(config)
    return build_stack(config, BASE_DIR)


# The entrypoint is awaited after this module ran; its result is exported (pulumi/runtime/stack.py).
pulumi.run(main)
