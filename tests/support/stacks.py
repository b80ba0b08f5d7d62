"""Load the repository's Pulumi.<stack>.yaml files the way the Pulumi engine hands them over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from triton_platform.config import NAMESPACE, ConfigError, PlatformConfig, parse_config

# One change to a raw stack config (the dict ``stack_config`` returns), applied in place.
Edit = Callable[[dict[str, Any]], None]

REPO = Path(__file__).resolve().parents[2]


# What the dev program (cloud local) must not import: model-reading libraries, the Kubernetes SDK's
# core/v1 and meta/v1 packages (components.kubernetes_objects registers those kinds and CRD
# objects), the other clouds' SDKs and compositions, the work only the provider host runs
# (publishing, stores' transfers, release copies, engine builders), and the components of
# features the dev stack leaves off.
# tests/stacks/test_local.py and bench/program_eval.py (which measures what they would cost) check it.
NOT_IN_THE_DEV_PROGRAM = (
    "onnx",
    "numpy",
    "pulumi_kubernetes.core.v1",
    "pulumi_kubernetes.meta.v1",
    "pulumi_aws",
    "pulumi_gcp",
    "pulumi_azure_native",
    "stacks.aws",
    "stacks.gcp",
    "stacks.azure",
    "triton_platform.publisher.pipeline",
    "triton_platform.publisher.publish",
    "triton_platform.publisher.pbtxt",
    "triton_platform.publisher.builders.kubernetes_job",
    "triton_platform.publisher.builders.local_tensorrt",
    "triton_platform.publisher.stores.base",
    "triton_platform.publisher.stores.transfer",
    "triton_platform.publisher.progress",
    "triton_platform.release.materialize",
    "triton_platform.release.promotion",
    "triton_platform.release.rebuild",
    "components.monitoring.metrics_adapter",
    "components.providers.release_location",
    "components.serving.gateway",
    "components.serving.rollouts",
)


def not_in_the_dev_program(modules: Iterable[str]) -> list[str]:
    """The modules of NOT_IN_THE_DEV_PROGRAM (or their submodules) among ``modules``."""
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in NOT_IN_THE_DEV_PROGRAM))


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


def set_key(path: str, value: Any) -> Edit:
    """An edit that sets a dotted key (``cluster.gpuNodePool.machineType``), creating parents."""

    def apply(raw: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = raw
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value

    return apply


def drop_key(path: str) -> Edit:
    """An edit that removes a dotted key, which must exist."""

    def apply(raw: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = raw
        for p in parents:
            node = node[p]
        node.pop(leaf)

    return apply


def edited_config(stack: str, *edits: Edit, **overrides: Any) -> dict[str, Any]:
    """A stack file's raw config with top-level keys replaced, then the edits applied in order."""
    raw = stack_config(stack)
    raw.update(overrides)
    for edit in edits:
        edit(raw)
    return raw


def parse_stack(stack: str, *edits: Edit, **overrides: Any) -> PlatformConfig:
    """Validate a stack file (optionally with top-level keys replaced, then edited) into a PlatformConfig."""
    return parse_config(edited_config(stack, *edits, **overrides), base_dir=REPO, stack=stack)


def config_error(stack: str, *edits: Edit, **overrides: Any) -> ConfigError:
    """The ConfigError that validating an edited stack file must raise (the test fails otherwise)."""
    with pytest.raises(ConfigError) as info:
        parse_stack(stack, *edits, **overrides)
    return info.value


def fresh_interpreter(code: str, *args: str, stack: str = "dev", unset: tuple[str, ...] = ()) -> Any:
    """Run ``code`` in a fresh interpreter (as `pulumi up` starts one) with ``stack``'s config as the
    engine hands it over (PULUMI_CONFIG) and ``unset`` removed from the environment; the last line
    it prints, parsed as JSON. Fails the test with its stderr when it fails."""
    config = {f"{NAMESPACE}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in stack_config(stack).items()}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(PYTHONPATH=str(REPO), PULUMI_CONFIG=json.dumps(config))
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def set_pulumi_config(raw: dict[str, Any]) -> None:
    """Install a raw config as the engine would: every value a string, structured ones JSON."""
    pulumi.runtime.set_all_config(
        {f"{NAMESPACE}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    )


# A stack served through an internal Gateway (its Triton Service stays ClusterIP behind it): what a
# canary needs (config/rules/rollout.py), with monitoring on as in the example stacks.
BEHIND_GATEWAY: tuple[Edit, ...] = (
    set_key("triton.gateway", {"enabled": True, "internal": True}),
    set_key("triton.service.type", "ClusterIP"),
)
