"""Shared by the components: frozen pydantic args that accept Pulumi Outputs, pinned chart releases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict

from triton_platform.catalog.versions import ChartPin


class ComponentArgs(BaseModel):
    """Args of a component: frozen, unknown fields rejected, Pulumi Outputs allowed.

    Fields that take Outputs are typed ``pulumi.Output[str] | str`` (checked with
    isinstance); providers are passed in as ``pulumi.ProviderResource`` and used
    explicitly by every child.
    """

    # defer_build: a model's validator is built when it first validates, not when its module is
    # imported, so a stack pays only for the components it creates (pydantic "defer_build").
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True, defer_build=True)


def pinned_chart_release(
    pin: ChartPin, *, name: str, namespace: pulumi.Input[str], values: pulumi.Input[Mapping[str, Any]], **extra: Any
) -> k8s.helm.v3.ReleaseArgs:
    """ReleaseArgs of a remote chart at the version pinned in triton_platform.catalog.versions.

    ``extra`` carries the release's own settings (timeout, atomic, cleanup_on_fail, ...). A chart
    in an OCI registry (``repo`` ``oci://...``) is named by its full reference, without repository
    options: Helm pulls OCI charts by reference, not from a chart repository's index.
    """
    oci = pin.repo.startswith("oci://")
    return k8s.helm.v3.ReleaseArgs(
        name=name,
        chart=f"{pin.repo}/{pin.chart}" if oci else pin.chart,
        version=pin.version,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=pin.repo),
        namespace=namespace,
        values=values,
        **extra,
    )
