"""The MIG mapping checked against the real components' names and rules, and the GPU catalogue.

Sources (each cited again beside the test that uses it):
- GPU feature discovery labels: NVIDIA/k8s-device-plugin docs/gpu-feature-discovery/README.md;
- the device plugin's MIG resource names: NVIDIA/k8s-device-plugin internal/rm/rm.go
  (``strings.ReplaceAll("mig-"+p.String(), "+", ".")``);
- mig-manager layouts: NVIDIA/gpu-operator assets/state-mig-manager/0400_configmap.yaml;
- Kubernetes name rules: tests/support/k8s_names.py (apimachinery / kubernetes, verbatim);
- machine types: each cloud's VM documentation (URLs at MACHINE_TABLE).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.configs import TRT_MODEL, gpu_pool, placeholder_models, raw_config
from tests.support.k8s_names import extended_resource_errors, label_value_errors, labels_errors
from triton_platform.catalog import gpu
from triton_platform.config import ConfigError, parse_config
from triton_platform.values.triton import engine_build_selectors, gpu_placement

POOL = {"triton-platform/pool": "gpu"}
GFD_PRODUCT = "nvidia.com/gpu.product"


# --------------------------------------------------------------------------- placement (7.2)


def test_strategy_none_requests_whole_gpus_on_the_gpu_pool() -> None:
    p = gpu.placement(product="A100-SXM4-40GB", strategy="none", gpus_per_replica=2)
    assert p.resources == {"nvidia.com/gpu": 2}
    assert p.node_selector == POOL
    assert p.mig_config_label is None


# mig-manager's progress label and its values: NVIDIA/mig-parted v0.15.0
# pkg/mig/reconfigure/reconfigure.go (node label nvidia.com/mig.config.state: "pending",
# "rebooting", then migStateSuccess "success" / migStateFailed "failed"); v0.15.0 is the
# mig-manager gpu-operator v26.7.0 deploys (deployments/gpu-operator/values.yaml migManager.version).
MIG_STATE_LABEL = "nvidia.com/mig.config.state"
MIG_MANAGER_STATES = ("pending", "rebooting", "success", "failed")


def test_strategy_single_selects_the_pool_and_its_layout() -> None:
    p = gpu.placement(product="A100-SXM4-40GB", strategy="single", mig_profile="1g.5gb")
    assert p.resources == {"nvidia.com/gpu": 1}
    assert p.node_selector == {**POOL, "nvidia.com/mig.config": "all-1g.5gb", MIG_STATE_LABEL: "success"}
    assert p.mig_config_label == "all-1g.5gb"


def test_strategy_single_waits_for_mig_manager_to_finish() -> None:
    # NVIDIA/gpu-operator#2670: the node carries nvidia.com/mig.config from birth and, until
    # mig-manager has cut the GPUs, the device plugin advertises whole GPUs as nvidia.com/gpu, which
    # a 'single' pod then binds. Only mig-manager's own "success" (reconfigure.go, above) says
    # the slices exist; the node group never carries it at birth (the layout label alone).
    p = gpu.placement(product="A100-SXM4-40GB", strategy="single", mig_profile="1g.5gb")
    assert gpu.MIG_CONFIG_STATE_LABEL == MIG_STATE_LABEL
    assert p.node_selector[MIG_STATE_LABEL] == "success"
    assert p.node_selector[MIG_STATE_LABEL] in MIG_MANAGER_STATES
    # 'mixed' requests nvidia.com/mig-<profile>, which exists only once the GPUs are cut; AKS and
    # GKE partition without mig-manager: none of them selects on its state.
    for other in (
        gpu.placement(product="A100-SXM4-40GB", strategy="mixed", mig_profile="1g.5gb"),
        gpu.placement(product="A100-80GB-PCIe", strategy="single", mig_profile="1g.10gb", mig_manager=False),
        gpu.placement(product="A100-SXM4-40GB", strategy="single", mig_profile="1g.5gb", gke=True),
    ):
        assert MIG_STATE_LABEL not in other.node_selector


def test_strategy_mixed_requests_the_slice_by_name() -> None:
    p = gpu.placement(product="A100-SXM4-40GB", strategy="mixed", mig_profile="1g.5gb", mig_config="all-balanced")
    assert p.resources == {"nvidia.com/mig-1g.5gb": 1}
    assert p.node_selector == POOL
    assert p.mig_config_label == "all-balanced"


def test_aks_partitions_without_a_layout_label() -> None:
    # AKS cuts the GPUs through the agent pool's gpuInstanceProfile: no mig-manager layout.
    p = gpu.placement(product="A100-80GB-PCIe", strategy="single", mig_profile="1g.10gb", mig_manager=False)
    assert (p.resources, p.node_selector, p.mig_config_label) == ({"nvidia.com/gpu": 1}, POOL, None)


def test_gke_partitions() -> None:
    # GKE's own node labels (GKE docs, "Running multi-instance GPUs").
    p = gpu.placement(product="A100-SXM4-40GB", strategy="single", mig_profile="1g.5gb", gke=True)
    assert p.resources == {"nvidia.com/gpu": 1}
    assert p.node_selector == {
        "cloud.google.com/gke-accelerator": "nvidia-tesla-a100",
        "cloud.google.com/gke-gpu-partition-size": "1g.5gb",
    }


def test_gke_whole_gpus() -> None:
    p = gpu.placement(product="L4", gke=True)
    assert p.node_selector == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert p.resources == {"nvidia.com/gpu": 1}


def test_gpu_pods_tolerate_the_gpu_taint() -> None:
    p = gpu.placement(product="Tesla-T4")
    assert p.tolerations == ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},)


def test_cpu_only() -> None:
    p = gpu.placement(product=None)
    assert (p.resources, p.node_selector, p.tolerations) == ({}, {}, ())


def test_mig_without_profile_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs a migProfile"):
        gpu.placement(product="A100-SXM4-40GB", strategy="single")


def _every_placement() -> list[tuple[str, gpu.GpuPlacement]]:
    out = []
    for p in gpu.GPU_PRODUCTS:
        for gke in (False, True) if p.gke_accelerator else (False,):
            for mig_manager in (True, False):
                out.append((f"{p.product} none gke={gke}", gpu.placement(product=p.product, gke=gke)))
                profiles = p.gke_partition_sizes if gke else p.mig_profiles
                for prof in profiles:
                    for strategy in ("single", "mixed"):
                        place = gpu.placement(
                            product=p.product, strategy=strategy, mig_profile=prof, gke=gke, mig_manager=mig_manager
                        )
                        out.append((f"{p.product} {strategy} {prof} gke={gke} mig-manager={mig_manager}", place))
    return out


def test_no_placement_selects_the_driver_product_name() -> None:
    # GFD writes the driver's own product name (NVIDIA-A100-SXM4-40GB, ...-MIG-1g.10gb; the
    # label table of NVIDIA/k8s-device-plugin docs/gpu-feature-discovery/README.md), which differs
    # by driver version: no placement may depend on it.
    placements = _every_placement()
    assert placements, "the GPU catalogue yields no placement"
    for where, place in placements:
        assert GFD_PRODUCT not in place.node_selector, where
        assert place.node_selector, where


def test_every_placement_uses_valid_kubernetes_names() -> None:
    # Kubernetes' own rules (IsLabelKey/IsLabelValue, IsExtendedResourceName): on main a '+me'
    # profile rendered nvidia.com/mig-1g.5gb+me and nvidia.com/mig.config=all-1g.5gb+me.
    placements = _every_placement()
    assert any(place.resources for _, place in placements), "no placement requests a GPU resource"
    assert any(place.mig_config_label for _, place in placements), "no placement sets a MIG config label"
    for where, place in placements:
        assert labels_errors(place.node_selector) == [], where
        for resource in place.resources:
            assert extended_resource_errors(resource) == [], (where, resource)
        if place.mig_config_label is not None:
            assert label_value_errors(place.mig_config_label) == [], where


# Media-extension layouts of the GPU operator's default mig-parted config, verbatim
# (NVIDIA/gpu-operator assets/state-mig-manager/0400_configmap.yaml: all-1g.5gb.me holds
# "1g.5gb+me": 1, and so on; the same names in NVIDIA/mig-parted examples/config.yaml).
OPERATOR_ME_LAYOUTS = {
    "1g.5gb+me": "all-1g.5gb.me",
    "1g.10gb+me": "all-1g.10gb.me",
    "1g.6gb+me": "all-1g.6gb.me",
    "2g.12gb+me": "all-2g.12gb.me",
    "1g.18gb+me": "all-1g.18gb.me",
}


@pytest.mark.parametrize("profile", sorted({p for g in gpu.GPU_PRODUCTS for p in g.mig_profiles if "+me" in p}))
def test_media_extension_profiles_map_to_the_real_names(profile: str) -> None:
    assert gpu.mig_layout(profile) == OPERATOR_ME_LAYOUTS[profile]
    # The device plugin's name: strings.ReplaceAll("mig-"+profile, "+", ".") under the
    # nvidia.com/ prefix (NVIDIA/k8s-device-plugin internal/rm/rm.go, api/config/v1/resources.go).
    assert gpu.mig_resource(profile) == "nvidia.com/" + ("mig-" + profile).replace("+", ".")
    place = gpu.placement(product=_product_with(profile), strategy="mixed", mig_profile=profile)
    assert place.resources == {gpu.mig_resource(profile): 1}
    assert place.mig_config_label == OPERATOR_ME_LAYOUTS[profile]


def _product_with(profile: str) -> str:
    return next(p.product for p in gpu.GPU_PRODUCTS if profile in p.mig_profiles)


# Per GPU, the all-<profile> layouts of the GPU operator's default config (same file; the
# comment lines there say which GPU each belongs to). Our catalogue must offer exactly these.
OPERATOR_LAYOUTS = {
    "A100-SXM4-40GB": {"1g.5gb", "1g.5gb.me", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"},
    "A100-SXM4-80GB": {"1g.10gb", "1g.10gb.me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"},
    "A100-80GB-PCIe": {"1g.10gb", "1g.10gb.me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"},
    "H100-80GB": {"1g.10gb", "1g.10gb.me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"},
    "H200": {"1g.18gb", "1g.18gb.me", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"},
    "A30": {"1g.6gb", "1g.6gb.me", "2g.12gb", "2g.12gb.me", "4g.24gb"},
}


def test_mig_catalogue_matches_the_operator_layouts() -> None:
    mig = {p.product: {gpu.mig_name(x) for x in p.mig_profiles} for p in gpu.GPU_PRODUCTS if p.supports_mig}
    assert mig == OPERATOR_LAYOUTS


# --------------------------------------------------------------------------- config (7.3, 7.5)


def _raw(cloud: str, machine: str, product: str, count: int, **over: Any) -> dict[str, Any]:
    return raw_config(cloud, pool=gpu_pool(machine, product, count), **({"models": [TRT_MODEL]} | over))


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return placeholder_models(tmp_path)  # only the sources' presence is checked here


def _issues(raw: dict[str, Any], base: Path) -> dict[str, str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, base_dir=base)
    return {i.key.removeprefix("triton-platform:"): i.reason for i in exc.value.issues}


def test_media_extension_profile_is_accepted_on_eks_and_placed_by_real_names(base: Path) -> None:
    raw = _raw("aws", "p4d.24xlarge", "A100-SXM4-40GB", 8, gpu={"migStrategy": "mixed", "migProfile": "1g.5gb+me"})
    place = gpu_placement(parse_config(raw, base_dir=base))
    assert place.resources == {"nvidia.com/mig-1g.5gb.me": 1}
    assert place.mig_config_label == "all-1g.5gb.me"


def test_mig_config_must_be_a_label_value(base: Path) -> None:
    gpu_cfg = {"migStrategy": "mixed", "migProfile": "1g.5gb+me", "migConfig": "all-1g.5gb+me"}
    issues = _issues(_raw("aws", "p4d.24xlarge", "A100-SXM4-40GB", 8, gpu=gpu_cfg), base)
    assert "all-1g.5gb.me" in issues["gpu.migConfig"]


def test_media_extension_profiles_are_rejected_where_the_cloud_partitions(base: Path) -> None:
    gke = _raw("gcp", "a2-highgpu-1g", "A100-SXM4-40GB", 1, gpu={"migStrategy": "single", "migProfile": "1g.5gb+me"})
    assert "GKE cannot partition" in _issues(gke, base)["gpu.migProfile"]
    aks = _raw(
        "azure",
        "Standard_NC24ads_A100_v4",
        "A100-80GB-PCIe",
        1,
        gpu={"migStrategy": "single", "migProfile": "1g.10gb+me"},
    )
    assert "gpuInstanceProfile" in _issues(aks, base)["gpu.migProfile"]


def test_compute_capability_no_pool_provides_is_rejected(base: Path) -> None:
    # On main the Kubernetes builder built this sm90 engine on the pool's A100 (sm80).
    raw = _raw("aws", "p4d.24xlarge", "A100-SXM4-40GB", 8, publisher={"computeCapabilities": ["9.0"]})
    reason = _issues(raw, base)["publisher.computeCapabilities"]
    assert "no GPU pool" in reason
    assert "'9.0'" in reason
    assert "8.0" in reason


@pytest.mark.parametrize("builder", ["kubernetes", "local"])
def test_the_pool_capability_is_accepted_with_either_builder(builder: str, base: Path) -> None:
    raw = _raw("aws", "p5.48xlarge", "H100-80GB", 8, publisher={"computeCapabilities": ["9.0"], "builder": builder})
    assert parse_config(raw, base_dir=base).compute_capabilities == ["9.0"]


def test_compute_capabilities_without_a_gpu_pool_are_rejected(base: Path) -> None:
    raw = raw_config("local", name="dev", publisher={"computeCapabilities": ["8.0"]})
    assert "no cluster.gpuNodePool" in _issues(raw, base)["publisher.computeCapabilities"]


# --------------------------------------------------------------------------- engine builds (7.5)


@pytest.mark.parametrize(
    ("cloud", "machine", "product", "count", "expected"),
    [
        # GFD's labels, integers as strings (docs/gpu-feature-discovery/README.md: "8", "0").
        (
            "aws",
            "p4d.24xlarge",
            "A100-SXM4-40GB",
            8,
            {"8.0": {"nvidia.com/gpu.compute.major": "8", "nvidia.com/gpu.compute.minor": "0"}},
        ),
        (
            "azure",
            "Standard_ND96isr_H100_v5",
            "H100-80GB",
            8,
            {"9.0": {"nvidia.com/gpu.compute.major": "9", "nvidia.com/gpu.compute.minor": "0"}},
        ),
        # GKE runs no GFD; its accelerator label names the GPU and so the architecture.
        ("gcp", "g2-standard-8", "L4", 1, {"8.9": {"cloud.google.com/gke-accelerator": "nvidia-l4"}}),
    ],
)
def test_engine_builds_select_the_pool_architecture(
    cloud: str, machine: str, product: str, count: int, expected: dict[str, dict[str, str]], base: Path
) -> None:
    cfg = parse_config(_raw(cloud, machine, product, count), base_dir=base)
    assert engine_build_selectors(cfg) == expected
    for selector in expected.values():
        assert labels_errors(selector) == []


# --------------------------------------------------------------------------- catalogue (7.14)


@pytest.mark.parametrize(
    ("name", "product"),
    [
        ("NVIDIA-A100-SXM4-40GB", "A100-SXM4-40GB"),
        ("a100-80gb", "A100-SXM4-80GB"),
        # GFD's name for the PCIe card (NVML "NVIDIA A100 80GB PCIe", spaces to '-').
        ("NVIDIA-A100-80GB-PCIe", "A100-80GB-PCIe"),
        ("NVIDIA-H100-80GB-HBM3", "H100-80GB"),
        ("T4", "Tesla-T4"),
    ],
)
def test_product_aliases(name: str, product: str) -> None:
    found = gpu.find_product(name)
    assert found is not None
    assert found.product == product


def test_every_gke_partition_is_a_mig_profile_of_its_gpu() -> None:
    assert any(p.gke_partition_sizes for p in gpu.GPU_PRODUCTS), "no GPU has a GKE partition size"
    for p in gpu.GPU_PRODUCTS:
        assert set(p.gke_partition_sizes) <= set(p.mig_profiles), p.product


# Each cloud's VM documentation: (cloud, machine type) -> (GPU as the page names it, GPUs per VM).
#   AWS   https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html
#   GCP   https://cloud.google.com/compute/docs/gpus (A2 Standard = A100 40GB, A2 Ultra = A100 80GB,
#         A3 High = H100 80GB, A3 Ultra = H200 141GB, G2 = L4, N1 + attached T4)
#   Azure https://learn.microsoft.com/azure/virtual-machines/sizes/gpu-accelerated/nca100v4-series
#         ("NVIDIA A100 PCIe GPUs", 80GB), .../ndasra100v4-series (A100 40GB), .../ndma100v4-series
#         (A100 80GB), .../ndh100v5-series, .../nd-h200-v5-series, .../ncast4v3-series
MACHINE_TABLE: dict[tuple[str, str], tuple[str, int]] = {
    ("aws", "p4d.24xlarge"): ("A100 SXM4 40GB", 8),
    ("aws", "p4de.24xlarge"): ("A100 SXM4 80GB", 8),
    ("aws", "p5.48xlarge"): ("H100 80GB", 8),
    ("aws", "p5e.48xlarge"): ("H200", 8),
    ("aws", "p5en.48xlarge"): ("H200", 8),
    ("aws", "g4dn.xlarge"): ("T4", 1),
    ("aws", "g4dn.12xlarge"): ("T4", 4),
    ("aws", "g5.xlarge"): ("A10G", 1),
    ("aws", "g5.12xlarge"): ("A10G", 4),
    ("aws", "g6.xlarge"): ("L4", 1),
    ("aws", "g6e.xlarge"): ("L40S", 1),
    **{("gcp", f"a2-highgpu-{n}g"): ("A100 SXM4 40GB", n) for n in (1, 2, 4, 8)},
    **{("gcp", f"a2-ultragpu-{n}g"): ("A100 SXM4 80GB", n) for n in (1, 2, 4, 8)},
    **{("gcp", f"a3-highgpu-{n}g"): ("H100 80GB", n) for n in (1, 2, 4, 8)},
    ("gcp", "a3-ultragpu-8g"): ("H200", 8),
    ("gcp", "g2-standard-4"): ("L4", 1),
    ("gcp", "g2-standard-8"): ("L4", 1),
    ("gcp", "n1-standard-8"): ("T4", 1),
    ("azure", "Standard_NC24ads_A100_v4"): ("A100 PCIe 80GB", 1),
    ("azure", "Standard_NC48ads_A100_v4"): ("A100 PCIe 80GB", 2),
    ("azure", "Standard_NC96ads_A100_v4"): ("A100 PCIe 80GB", 4),
    ("azure", "Standard_ND96asr_v4"): ("A100 SXM4 40GB", 8),
    ("azure", "Standard_ND96amsr_A100_v4"): ("A100 SXM4 80GB", 8),
    ("azure", "Standard_ND96isr_H100_v5"): ("H100 80GB", 8),
    ("azure", "Standard_ND96isr_H200_v5"): ("H200", 8),
    ("azure", "Standard_NC4as_T4_v3"): ("T4", 1),
    ("azure", "Standard_NC16as_T4_v3"): ("T4", 1),
}
# The documented GPU name -> the GPU feature discovery name of that card (NVML's name, spaces
# to '-', "NVIDIA-" dropped as find_product does).
DOC_GPU_TO_GFD = {
    "A100 SXM4 40GB": "A100-SXM4-40GB",
    "A100 SXM4 80GB": "A100-SXM4-80GB",
    "A100 PCIe 80GB": "A100-80GB-PCIe",
    "H100 80GB": "H100-80GB-HBM3",
    "H200": "H200",
    "T4": "Tesla-T4",
    "A10G": "A10G",
    "L4": "L4",
    "L40S": "L40S",
}


def test_machine_catalogue_matches_the_cloud_documentation() -> None:
    ours: dict[tuple[str, str], tuple[str, int]] = {
        (m.cloud, m.name): (m.gpu_product, m.gpu_count) for m in gpu.MACHINE_TYPES
    }
    assert set(ours) == set(MACHINE_TABLE)
    for key, (doc_gpu, count) in MACHINE_TABLE.items():
        expected = gpu.find_product(DOC_GPU_TO_GFD[doc_gpu])
        assert expected is not None, doc_gpu
        assert ours[key] == (expected.product, count), key


def test_aks_gpu_instance_profile() -> None:
    assert gpu.aks_gpu_instance_profile("1g.10gb") == "MIG1g"
    assert gpu.aks_gpu_instance_profile("3g.40gb") == "MIG3g"
