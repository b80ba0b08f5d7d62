"""Load the repository's Pulumi.<stack>.yaml files the way the Pulumi engine hands them over."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import yaml

from stacks.config import NAMESPACE, PlatformConfig, parse_config

REPO = Path(__file__).resolve().parents[2]


def stack_file(stack: str) -> Path:
    return REPO / f"Pulumi.{stack}.yaml"


def stack_config(stack: str) -> dict[str, Any]:
    """The ``triton-platform:`` keys of a stack file, namespace stripped (raw, unvalidated)."""
    doc = yaml.safe_load(stack_file(stack).read_text()) or {}
    out: dict[str, Any] = {}
    for key, value in (doc.get("config") or {}).items():
        ns, _, name = key.partition(":")
        if ns == NAMESPACE:
            out[name] = value
    return out


def parse_stack(stack: str, **overrides: Any) -> PlatformConfig:
    """Validate a stack file (optionally with top-level keys replaced) into a PlatformConfig."""
    raw = stack_config(stack)
    raw.update(overrides)
    return parse_config(raw, base_dir=REPO, stack=stack)


def set_pulumi_config(raw: dict[str, Any]) -> None:
    """Install a raw config as the engine would: every value a string, structured ones JSON."""
    pulumi.runtime.set_all_config(
        {f"{NAMESPACE}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    )
