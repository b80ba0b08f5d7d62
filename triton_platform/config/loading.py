"""Reading and validating a stack's ``triton-platform:`` configuration, all at once.

``parse_config`` validates a plain dict (what tests and tools use); ``load_config`` reads the
current stack's configuration from the Pulumi runtime and parses it; ``config_from_pulumi``
is the one reading of the stack's settings as the Pulumi engine passes them to the program,
shared with ``python -m triton_platform.config`` (``triton_platform.config.stack_file``), which
feeds it from the stack file itself. Either raises one ``ConfigError`` naming every bad key, why,
and a valid example, so a bad stack never half-creates resources.

Every problem is in that one message: the structural pass (``structure``: types, unknown keys)
keeps the parts that are valid, and the cross-key rules run on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from triton_platform.clouds.kind import apply_local_defaults
from triton_platform.config.errors import ConfigError, Issue, key
from triton_platform.config.explain import unknown_key_reason
from triton_platform.config.providers import PROVIDER_KEYS, apply_provider_defaults
from triton_platform.config.rules import semantic_issues
from triton_platform.config.schema import NAMESPACE, TOP_LEVEL_KEYS, PlatformConfig
from triton_platform.config.structure import check_structure


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
    for path in [path for path in data if path not in TOP_LEVEL_KEYS]:
        issues.append(Issue(key(path), unknown_key_reason(path, TOP_LEVEL_KEYS), None))
        data.pop(path)
    cfg, structural = check_structure(data)
    issues += structural
    if cfg is not None:
        issues += semantic_issues(cfg, Path(base_dir))
    if issues or cfg is None:
        raise ConfigError(issues, stack)
    return cfg


def config_from_pulumi(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Our raw config and the provider keys, from a stack's settings as the Pulumi engine passes them.

    The engine passes every value as a string (``config.Value``: a scalar's text; a structured
    value as JSON); the keys are ``<namespace>:<name>``. Every key of our namespace is read
    (``pulumi.Config`` only answers for known keys, and an unknown key must be an error, not
    ignored); of the others only the provider keys that give defaults (``providers.PROVIDER_KEYS``).
    """
    providers = {name: str(settings[name]) for name in PROVIDER_KEYS if settings.get(name)}
    raw: dict[str, Any] = {}
    for full_key, value in settings.items():
        ns, _, path = full_key.partition(":")
        if ns != NAMESPACE or not path:
            continue
        try:
            raw[path] = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            raw[path] = value
    return raw, providers


def load_config(base_dir: Path | str = ".") -> PlatformConfig:
    """Read and validate the current stack's ``triton-platform:`` configuration."""
    # Imported here, not above: validation (parse_config) must not load Pulumi, which tools and
    # tests use without a Pulumi program around them.
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw, providers = config_from_pulumi({**runtime_config.get_config_env(), **runtime_config.CONFIG.get()})
    return parse_config(raw, base_dir=base_dir, stack=pulumi.get_stack(), provider_config=providers)
