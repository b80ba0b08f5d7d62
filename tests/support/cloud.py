"""Building a cloud composition (``stacks.aws``, ``gcp``, ``azure``) under the mocks, and looking at it.

``build_stack`` runs a composition's ``build(cfg, base_dir)`` under ``RecordingMocks`` and keeps
what the tests read afterwards: the outputs as returned and resolved, and the data of every
Kubernetes Secret as the Outputs the program handed over (to check they stay secret).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pulumi

from tests.support.pulumi_mocks import ProgramResult, RecordingMocks, Registered, run_program, secret_flag
from tests.support.stacks import REPO
from triton_platform.config import PlatformConfig

Composition = Callable[[PlatformConfig, Path], Mapping[str, Any]]

# The outputs every composition exports for its cluster and workloads, under the same
# names (stacks.common.workload_outputs): scripts and the README rely on them.
WORKLOAD_OUTPUTS = frozenset(
    {
        "clusterName",
        "kubeconfig",
        "tritonNamespace",
        "tritonService",
        "tritonHttp",
        "tritonGrpc",
        "tritonMetrics",
        "tritonInClusterHttp",
        "tritonInClusterGrpc",
        "tritonInClusterMetrics",
        "publishedModels",
    }
)


@dataclass
class Built:
    """What one build() left behind: its outputs and the recorded resource graph."""

    mocks: RecordingMocks
    # The outputs as build() returned them (Outputs and plain values).
    outputs: dict[str, Any] = field(default_factory=dict)
    # The same outputs resolved, and which of them are secret.
    result: ProgramResult = field(default_factory=lambda: ProgramResult({}, set()))
    # Kubernetes Secret name -> the Outputs of its data, as the program passed them.
    secret_props: dict[str, list[pulumi.Output[Any]]] = field(default_factory=dict)

    def one(self, t: str) -> Registered:
        return self.mocks.one(t)

    def named(self, name: str) -> Registered:
        return self.mocks.named(name)

    def service_account(self, name: str) -> Registered:
        return self.mocks.service_account(name)

    def triton_values(self) -> dict[str, Any]:
        """The values of the Triton release (the repository's chart)."""
        values: dict[str, Any] = self.mocks.release("charts/triton-inference-server").inputs["values"]
        return values


def build_stack(
    mocks: RecordingMocks,
    build: Composition,
    cfg: PlatformConfig,
    check: Callable[[Built], pulumi.Output[Any]] | None = None,
) -> Built:
    """Run a composition's ``build`` under the mock runtime; ``check`` may return an Output to await."""
    built = Built(mocks)

    def record(args: pulumi.ResourceTransformationArgs) -> None:
        if args.type_ == "kubernetes:core/v1:Secret":
            props = cast(dict[str, Any], args.props)
            data: Any = props.get("string_data") or props.get("stringData") or props.get("data") or {}
            # The whole mapping may be one (secret) Output, or a dict of them.
            values = data.values() if isinstance(data, dict) else [data]
            built.secret_props[args.name] = [pulumi.Output.from_input(v) for v in values]

    def program() -> dict[str, Any]:
        pulumi.runtime.register_stack_transformation(record)
        built.outputs = dict(build(cfg, REPO))
        return built.outputs

    built.result = run_program(program, check=(lambda: check(built)) if check else None)
    return built


def secret_data_is_secret(built: Built) -> pulumi.Output[Any]:
    """A ``build_stack`` check: a Kubernetes Secret exists and every value of its data is a secret Output."""
    values = [v for outs in built.secret_props.values() for v in outs]
    assert values, "a Kubernetes Secret with the credentials must exist"

    def all_secret(flags: list[bool]) -> None:
        assert all(flags), f"Secret data not secret: {flags}"

    return pulumi.Output.all(*[secret_flag(v) for v in values]).apply(all_secret)


# triton.rollout.strategy canary: where each release's own location lies
# (triton_platform.publisher.stores.base.release_locations_root, the default cache prefix).
LOCATIONS_ROOT = "_cache/releases/served"
LOCATION = f"{LOCATIONS_ROOT}/{'ab' * 32}"


def provisioned_storage(provision: Callable[[PlatformConfig, Path], Any], cfg: PlatformConfig) -> dict[str, Any]:
    """A cloud's ``provision(cfg, base_dir).storage`` under the mocks, resolved: the repository URI,
    the locations root URI and the chart values for the location ``LOCATION`` (None when instant)."""

    def program() -> dict[str, Any]:
        s = provision(cfg, REPO).storage
        fn = s.location_values
        return {"repo": s.repository_uri, "root": s.locations_root_uri, "values": fn(LOCATION) if fn else None}

    return run_program(program).values
