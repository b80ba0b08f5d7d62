"""DESIGN.md's MIG table, exactly: requests and node selectors per strategy."""

from __future__ import annotations

import pytest

from triton_platform import gpu


def test_strategy_none_requests_whole_gpus() -> None:
    p = gpu.placement(product="A100-SXM4-40GB", strategy="none", gpus_per_replica=2)
    assert p.resources == {"nvidia.com/gpu": 2}
    assert p.node_selector == {"nvidia.com/gpu.product": "A100-SXM4-40GB"}
    assert p.mig_config_label is None


def test_strategy_single_selects_the_mig_product() -> None:
    p = gpu.placement(product="A100-SXM4-40GB", strategy="single", mig_profile="1g.5gb")
    assert p.resources == {"nvidia.com/gpu": 1}
    assert p.node_selector == {"nvidia.com/gpu.product": "A100-SXM4-40GB-MIG-1g.5gb"}
    assert p.mig_config_label == "all-1g.5gb"


def test_strategy_mixed_requests_the_slice_by_name() -> None:
    p = gpu.placement(product="A100-SXM4-40GB", strategy="mixed", mig_profile="1g.5gb", mig_config="all-balanced")
    assert p.resources == {"nvidia.com/mig-1g.5gb": 1}
    assert p.node_selector == {"nvidia.com/gpu.product": "A100-SXM4-40GB"}
    assert p.mig_config_label == "all-balanced"


def test_gke_partitions() -> None:
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


@pytest.mark.parametrize(
    ("name", "product"),
    [
        ("NVIDIA-A100-SXM4-40GB", "A100-SXM4-40GB"),
        ("a100-80gb", "A100-SXM4-80GB"),
        ("NVIDIA-H100-80GB-HBM3", "H100-80GB"),
        ("T4", "Tesla-T4"),
    ],
)
def test_product_aliases(name: str, product: str) -> None:
    found = gpu.find_product(name)
    assert found is not None
    assert found.product == product


def test_every_gke_partition_is_a_mig_profile_of_its_gpu() -> None:
    for p in gpu.GPU_PRODUCTS:
        assert set(p.gke_partition_sizes) <= set(p.mig_profiles), p.product


def test_machine_catalogue_names_known_products() -> None:
    for m in gpu.MACHINE_TYPES:
        assert gpu.find_product(m.gpu_product) is not None, m


def test_aks_gpu_instance_profile() -> None:
    assert gpu.aks_gpu_instance_profile("1g.10gb") == "MIG1g"
    assert gpu.aks_gpu_instance_profile("3g.40gb") == "MIG3g"
