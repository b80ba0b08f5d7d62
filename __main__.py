"""triton-platform: one typed stack config -> cluster, bucket, monitoring, models, Triton."""

from pathlib import Path

import pulumi

from stacks import build_stack
from triton_platform.config import load_config

BASE_DIR = Path(__file__).resolve().parent

config = load_config(BASE_DIR)  # fails before any resource is registered if the config is bad
for key, value in build_stack(config, BASE_DIR).items():
    pulumi.export(key, value)
