"""``cluster.kubernetesVersion`` against the cluster-autoscaler an EKS stack runs (issue 14, item 5).

cluster-autoscaler's version policy is CA minor == Kubernetes minor, and its README's table
(kubernetes/autoscaler cluster-autoscaler/README.md, "Releases", tags cluster-autoscaler-1.31.0 and
-1.32.0) needs chart 9.45.0+ for 1.32: the pinned chart 9.38.0 cannot serve it, so an EKS stack
that runs the autoscaler must say a minor it serves, before any resource.
"""

from __future__ import annotations

import pytest

from tests.support.stacks import config_error, parse_stack, set_key
from triton_platform.catalog.versions import CLUSTER_AUTOSCALER, CLUSTER_AUTOSCALER_IMAGE_TAGS

AWS, GCP, AZURE = "prod", "staging", "prod-azure"
KEY = "triton-platform:cluster.kubernetesVersion"


@pytest.mark.parametrize("version", sorted(CLUSTER_AUTOSCALER_IMAGE_TAGS))
def test_served_minors_pass(version: str) -> None:
    assert parse_stack(AWS, set_key("cluster.kubernetesVersion", version)).cluster.kubernetes_version == version


def test_a_minor_the_pinned_chart_cannot_serve_is_named() -> None:
    text = str(config_error(AWS, set_key("cluster.kubernetesVersion", "1.36")))
    assert KEY in text
    assert "cluster-autoscaler" in text
    assert CLUSTER_AUTOSCALER.version in text
    assert "not 1.36" in text
    assert f"'{list(CLUSTER_AUTOSCALER_IMAGE_TAGS)[-1]}'" in text  # the example


@pytest.mark.parametrize("stack", [GCP, AZURE])
def test_other_clouds_run_their_own_autoscaler(stack: str) -> None:
    # GKE and AKS autoscale node pools with the cloud's managed autoscaler: no version of ours to match.
    assert parse_stack(stack, set_key("cluster.kubernetesVersion", "1.36")).cluster.kubernetes_version == "1.36"
