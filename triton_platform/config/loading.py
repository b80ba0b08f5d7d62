"""Reading and validating a stack's ``triton-platform:`` configuration, all at once.

``parse_config`` validates a plain dict (what tests and tools use); ``load_config`` reads the
current stack's configuration from the Pulumi runtime and parses it. Either raises one
``ConfigError`` naming every bad key, why, and a valid example, so a bad stack never
half-creates resources.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from triton_platform.clouds.kind import apply_local_defaults
from triton_platform.config.errors import ConfigError, Issue, key, pydantic_issues
from triton_platform.config.providers import PROVIDER_KEYS, apply_provider_defaults
from triton_platform.config.rules import semantic_issues
from triton_platform.config.schema import NAMESPACE, TOP_LEVEL_KEYS, PlatformConfig


def parse_config(
    raw: Mapping[str, Any],
    *,
    base_dir: Path | str = ".",
    stack: str | None = None,
    provider_config: Mapping[str, str] | None = None,
) -> PlatformConfig:
    """Validate a whole configuration (camelCase keys) or raise one ConfigError.

    ``provider_config`` holds the stack's provider keys (``aws:region``, ``gcp:project``, ...):
    defaults for the cluster's region, location and project (triton_platform.config.providers).
    """
    data, conflicts = apply_provider_defaults(raw, provider_config or {})
    if data.get("cloud") == "local":
        # kind's defaults: a Kubernetes its node images ship, requests that fit a laptop's Docker VM.
        data = apply_local_defaults(data)
    issues: list[Issue] = [Issue(key(path), why, example) for path, why, example in conflicts]
    unknown = [path for path in data if path not in TOP_LEVEL_KEYS]
    for path in unknown:
        issues.append(Issue(key(path), f"unknown key; known keys: {', '.join(TOP_LEVEL_KEYS)}", None))
        data.pop(path)
    try:
        cfg = PlatformConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(issues + pydantic_issues(err), stack) from None
    issues += semantic_issues(cfg, Path(base_dir))
    if issues:
        raise ConfigError(issues, stack)
    return cfg


def load_config(base_dir: Path | str = ".") -> PlatformConfig:
    """Read and validate the current stack's ``triton-platform:`` configuration."""
    # Imported here, not above: validation (parse_config) must not load Pulumi, which tools and
    # tests use without a Pulumi program around them.
    import pulumi
    from pulumi.runtime import config as runtime_config

    # Enumerate every key of our namespace (pulumi.Config only answers for known keys,
    # and an unknown key must be an error, not ignored). Values arrive as strings;
    # structured ones are JSON.
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    providers = {name: str(everything[name]) for name in PROVIDER_KEYS if everything.get(name)}
    raw: dict[str, Any] = {}
    for full_key, value in everything.items():
        ns, _, path = full_key.partition(":")
        if ns != NAMESPACE or not path:
            continue
        try:
            raw[path] = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            raw[path] = value
    return parse_config(raw, base_dir=base_dir, stack=pulumi.get_stack(), provider_config=providers)
