"""The typed stack configuration: valid stacks parse, every bad key is named with a reason."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.configs import MIG_1G5, TRT_MODEL, gke_a100, gpu_pool, placeholder_models, raw_config
from tests.support.stacks import REPO, stack_config
from triton_platform.config import ConfigError, PlatformConfig, parse_config

ONNX = "samples/sample-mlp/model.onnx"


@pytest.fixture
def onnx_dir(tmp_path: Path) -> Path:
    """A base dir with a (content-irrelevant) .onnx file and a python model directory."""
    return placeholder_models(tmp_path)


def local(**over: Any) -> dict[str, Any]:
    return raw_config("local", name="triton-dev", **over)


def aws(**over: Any) -> dict[str, Any]:
    pool = gpu_pool("p4d.24xlarge", "A100-SXM4-40GB", 8)
    return raw_config("aws", name="triton-prod", pool=pool, **({"gpu": MIG_1G5, "models": [TRT_MODEL]} | over))


gcp = gke_a100


def error_of(raw: dict[str, Any], base: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, base_dir=base, stack="test")
    return info.value


def assert_names(err: ConfigError, key: str, *words: str) -> None:
    msg = str(err)
    assert f"triton-platform:{key}" in msg, msg
    for w in words:
        assert w in msg, msg


# --- valid configurations -------------------------------------------------------------


def test_minimal_local_config_has_defaults(onnx_dir: Path) -> None:
    cfg = parse_config(local(), base_dir=onnx_dir)
    assert cfg.triton.version == "25.01"
    assert cfg.gpu.mig_strategy == "none"
    assert cfg.builder == "local"
    assert cfg.models[0].max_batch_size == 8
    assert cfg.compute_capabilities == []


def test_aws_config_derives_builder_and_compute_capability(onnx_dir: Path) -> None:
    # The pool's own architecture is always built; another one needs a pool that provides it
    # (tests/triton_platform/catalog/test_gpu.py checks that 9.0 on an A100-only stack is rejected).
    cfg = parse_config(aws(), base_dir=onnx_dir)
    assert cfg.builder == "kubernetes"
    assert cfg.compute_capabilities == ["8.0"]
    assert parse_config(aws(publisher={"computeCapabilities": ["8.0"]}), base_dir=onnx_dir).compute_capabilities == [
        "8.0"
    ]


def test_floats_from_protobuf_parse_as_ints(onnx_dir: Path) -> None:
    raw = local(models=[{"name": "mlp", "source": "m/model.onnx", "format": "onnx", "maxBatchSize": 4.0}])
    assert parse_config(raw, base_dir=onnx_dir).models[0].max_batch_size == 4


def test_dev_stack_file_is_valid(samples_built: Path) -> None:
    cfg = parse_config(stack_config("dev"), base_dir=REPO, stack="dev")
    assert isinstance(cfg, PlatformConfig)
    assert cfg.cloud == "local"
    assert [m.name for m in cfg.models] == ["sample-mlp"]


# --- bad configurations: each names the key, says why, gives an example ---------------


def test_missing_cloud(onnx_dir: Path) -> None:
    raw = local()
    del raw["cloud"]
    assert_names(error_of(raw, onnx_dir), "cloud", "Field required")


def test_unknown_cloud(onnx_dir: Path) -> None:
    assert_names(error_of(local(cloud="openstack"), onnx_dir), "cloud", "'local'", "example")


def test_unknown_top_level_key(onnx_dir: Path) -> None:
    assert_names(error_of(local(tritonn={}), onnx_dir), "tritonn", "unknown key")


def test_unknown_nested_key(onnx_dir: Path) -> None:
    raw = local(triton={"replica": 2})
    assert_names(error_of(raw, onnx_dir), "triton.replica", "unknown key")


def test_bad_cluster_name(onnx_dir: Path) -> None:
    err = error_of(local(cluster={"name": "Triton_Dev"}), onnx_dir)
    assert_names(err, "cluster.name", "'triton-dev'")


def test_bad_kubernetes_version(onnx_dir: Path) -> None:
    err = error_of(local(cluster={"name": "dev", "kubernetesVersion": "1.9"}), onnx_dir)
    assert_names(err, "cluster.kubernetesVersion", "'1.35'")


def test_unknown_triton_release(onnx_dir: Path) -> None:
    assert_names(error_of(local(triton={"version": "19.01"}), onnx_dir), "triton.version", "unknown NGC release")


def test_replicas_zero(onnx_dir: Path) -> None:
    assert_names(error_of(local(triton={"replicas": 0}), onnx_dir), "triton.replicas", "greater than or equal to 1")


def test_bad_model_control_mode(onnx_dir: Path) -> None:
    assert_names(error_of(local(triton={"modelControlMode": "auto"}), onnx_dir), "triton.modelControlMode", "'poll'")


def test_bad_service_type(onnx_dir: Path) -> None:
    err = error_of(local(triton={"service": {"type": "Ingress"}}), onnx_dir)
    assert_names(err, "triton.service.type", "'LoadBalancer'")


def test_node_port_out_of_range(onnx_dir: Path) -> None:
    err = error_of(local(triton={"service": {"type": "NodePort", "nodePorts": {"http": 8000}}}), onnx_dir)
    assert_names(err, "triton.service.nodePorts.http", "30800")


def test_node_ports_need_node_port_service(onnx_dir: Path) -> None:
    err = error_of(local(triton={"service": {"type": "ClusterIP", "nodePorts": {}}}), onnx_dir)
    assert_names(err, "triton.service.nodePorts", "NodePort")


def test_aws_needs_region(onnx_dir: Path) -> None:
    raw = aws()
    del raw["cluster"]["region"]
    assert_names(error_of(raw, onnx_dir), "cluster.region", "required for cloud 'aws'", "us-east-1")


def test_gcp_needs_location_and_project(onnx_dir: Path) -> None:
    raw = gcp()
    del raw["cluster"]["location"]
    del raw["cluster"]["project"]
    err = error_of(raw, onnx_dir)
    assert_names(err, "cluster.location")
    assert_names(err, "cluster.project")


def test_mig_strategy_without_profile(onnx_dir: Path) -> None:
    err = error_of(aws(gpu={"migStrategy": "mixed"}), onnx_dir)
    assert_names(err, "gpu", "needs migProfile", "1g.5gb")


def test_mig_profile_without_strategy(onnx_dir: Path) -> None:
    err = error_of(aws(gpu={"migProfile": "1g.5gb"}), onnx_dir)
    assert_names(err, "gpu", "migStrategy is 'none'")


def test_bad_mig_strategy_name(onnx_dir: Path) -> None:
    assert_names(
        error_of(aws(gpu={"migStrategy": "all", "migProfile": "1g.5gb"}), onnx_dir), "gpu.migStrategy", "'single'"
    )


def test_mig_profile_the_gpu_does_not_have(onnx_dir: Path) -> None:
    err = error_of(aws(gpu={"migStrategy": "single", "migProfile": "1g.10gb+me"}), onnx_dir)
    assert_names(err, "gpu.migProfile", "A100-SXM4-40GB has no MIG profile '1g.10gb+me'", "1g.5gb")


def test_mig_profile_on_gpu_without_mig(onnx_dir: Path) -> None:
    raw = aws()
    raw["cluster"]["gpuNodePool"] = {"machineType": "g5.xlarge", "gpuProduct": "A10G", "gpuCount": 1}
    assert_names(error_of(raw, onnx_dir), "gpu.migProfile", "A10G has no MIG")


def test_mig_catalogue_covers_h100_h200_a30_a100_80() -> None:
    from triton_platform.catalog import gpu

    assert "1g.18gb" in gpu.find_product("H200").mig_profiles  # type: ignore[union-attr]
    assert "3g.40gb" in gpu.find_product("H100-80GB").mig_profiles  # type: ignore[union-attr]
    assert "2g.12gb" in gpu.find_product("A30").mig_profiles  # type: ignore[union-attr]
    assert "7g.80gb" in gpu.find_product("NVIDIA-A100-SXM4-80GB").mig_profiles  # type: ignore[union-attr]


def test_gke_partition_size_the_accelerator_lacks(onnx_dir: Path) -> None:
    # 4g.20gb is a valid A100 MIG profile, but GKE does not offer it as a partition size.
    err = error_of(gcp(gpu={"migStrategy": "single", "migProfile": "4g.20gb"}), onnx_dir)
    assert_names(err, "gpu.migProfile", "GKE cannot partition", "1g.5gb")


def test_machine_type_without_the_configured_gpu(onnx_dir: Path) -> None:
    raw = aws()
    raw["cluster"]["gpuNodePool"]["machineType"] = "p5.48xlarge"
    assert_names(error_of(raw, onnx_dir), "cluster.gpuNodePool.machineType", "carries H100-80GB", "p4d.24xlarge")


def test_unknown_machine_type(onnx_dir: Path) -> None:
    raw = aws()
    raw["cluster"]["gpuNodePool"]["machineType"] = "m5.large"
    assert_names(error_of(raw, onnx_dir), "cluster.gpuNodePool.machineType", "not a known aws GPU machine type")


def test_gpu_count_mismatch(onnx_dir: Path) -> None:
    raw = aws()
    raw["cluster"]["gpuNodePool"]["gpuCount"] = 4
    assert_names(error_of(raw, onnx_dir), "cluster.gpuNodePool.gpuCount", "has 8 GPU(s)")


def test_unknown_gpu_product(onnx_dir: Path) -> None:
    raw = aws()
    raw["cluster"]["gpuNodePool"]["gpuProduct"] = "RTX-9090"
    assert_names(error_of(raw, onnx_dir), "cluster.gpuNodePool.gpuProduct", "unknown GPU product", "A100-SXM4-40GB")


def test_min_nodes_above_max(onnx_dir: Path) -> None:
    raw = aws()
    raw["cluster"]["gpuNodePool"].update(minNodes=3, maxNodes=1)
    assert_names(error_of(raw, onnx_dir), "cluster.gpuNodePool", "minNodes (3) must be <= maxNodes (1)")


def test_gpus_per_replica_with_mig(onnx_dir: Path) -> None:
    err = error_of(aws(gpu={"migStrategy": "single", "migProfile": "1g.5gb", "gpusPerReplica": 2}), onnx_dir)
    assert_names(err, "gpu", "gpusPerReplica applies to migStrategy 'none'")


def test_gpu_settings_without_gpu_pool(onnx_dir: Path) -> None:
    assert_names(error_of(local(gpu={"timeSlicingReplicas": 4}), onnx_dir), "gpu", "need cluster.gpuNodePool")


def test_duplicate_model_names(onnx_dir: Path) -> None:
    m = {"name": "mlp", "source": "m/model.onnx", "format": "onnx"}
    err = error_of(local(models=[m, copy.deepcopy(m)]), onnx_dir)
    assert_names(err, "models[1].name", "duplicate model name 'mlp'", "'mlp-v2'")


def test_no_models(onnx_dir: Path) -> None:
    assert_names(error_of(local(models=[]), onnx_dir), "models", "empty model repository")


def test_missing_onnx_source(onnx_dir: Path) -> None:
    err = error_of(local(models=[{"name": "mlp", "source": "nope.onnx", "format": "onnx"}]), onnx_dir)
    assert_names(err, "models[0].source", "not found")


def test_unsupported_source_uri(onnx_dir: Path) -> None:
    err = error_of(local(models=[{"name": "mlp", "source": "ftp://x/y.onnx", "format": "onnx"}]), onnx_dir)
    assert_names(err, "models[0].source", "unsupported URI")


def test_unknown_precision(onnx_dir: Path) -> None:
    raw = aws(models=[{"name": "mlp", "source": "m/model.onnx", "format": "tensorrt", "precision": "fp8"}])
    assert_names(error_of(raw, onnx_dir), "models[0].precision", "'fp16'")


def test_precision_needs_tensorrt(onnx_dir: Path) -> None:
    raw = local(models=[{"name": "mlp", "source": "m/model.onnx", "format": "onnx", "precision": "fp16"}])
    assert_names(error_of(raw, onnx_dir), "models[0]", "precision 'fp16' needs format 'tensorrt'")


def test_int8_needs_calibration_cache(onnx_dir: Path) -> None:
    raw = aws(models=[{"name": "mlp", "source": "m/model.onnx", "format": "tensorrt", "precision": "int8"}])
    assert_names(error_of(raw, onnx_dir), "models[0]", "calibrationCache")


def test_tensorrt_without_gpu_pool(onnx_dir: Path) -> None:
    raw = local(models=[{"name": "mlp", "source": "m/model.onnx", "format": "tensorrt"}])
    assert_names(error_of(raw, onnx_dir), "models[0].format", "need a GPU node pool", "'onnx'")


def test_shape_range_out_of_order(onnx_dir: Path) -> None:
    shapes = {"INPUT0": {"min": [8, 16], "opt": [4, 16], "max": [32, 16]}}
    raw = aws(models=[{"name": "mlp", "source": "m/model.onnx", "format": "tensorrt", "shapes": shapes}])
    assert_names(error_of(raw, onnx_dir), "models[0].shapes.INPUT0", "min <= opt <= max")


def test_dynamic_batching_needs_batching(onnx_dir: Path) -> None:
    m = {"name": "mlp", "source": "m/model.onnx", "format": "onnx", "maxBatchSize": 0, "dynamicBatching": {}}
    assert_names(error_of(local(models=[m]), onnx_dir), "models[0]", "dynamicBatching needs maxBatchSize > 0")


def test_bad_model_name(onnx_dir: Path) -> None:
    err = error_of(local(models=[{"name": "my model", "source": "m/model.onnx", "format": "onnx"}]), onnx_dir)
    assert_names(err, "models[0].name", "'resnet50'")


def test_python_model_needs_model_py(onnx_dir: Path) -> None:
    err = error_of(local(models=[{"name": "pre", "source": "m", "format": "python"}]), onnx_dir)
    assert_names(err, "models[0].source", "model.py")


def test_python_model_signature_file(onnx_dir: Path) -> None:
    ok = parse_config(local(models=[{"name": "pre", "source": "py", "format": "python"}]), base_dir=onnx_dir)
    assert ok.models[0].format == "python"
    bad = local(models=[{"name": "pre", "source": "py", "format": "python", "signature": "other.onnx"}])
    assert_names(error_of(bad, onnx_dir), "models[0].source", "'other.onnx'")


def test_cache_prefix_inside_served_prefix(onnx_dir: Path) -> None:
    err = error_of(local(publisher={"cachePrefix": "models/_cache"}), onnx_dir)
    assert_names(err, "publisher.cachePrefix", "outside modelRepository.prefix")


def test_bad_bucket_name(onnx_dir: Path) -> None:
    err = error_of(local(modelRepository={"bucket": "My_Bucket"}), onnx_dir)
    assert_names(err, "modelRepository.bucket", "'acme-triton-models'")


def test_same_namespace_for_triton_and_monitoring(onnx_dir: Path) -> None:
    err = error_of(local(monitoring={"namespace": "triton"}), onnx_dir)
    assert_names(err, "monitoring.namespace", "must differ")


def test_every_bad_key_in_one_message(onnx_dir: Path) -> None:
    raw = local(triton={"replicas": 0, "service": {"type": "Ingress"}}, monitoring={"enabled": "maybe"}, bogus=1)
    err = error_of(raw, onnx_dir)
    assert len(err.issues) >= 4
    for key in ("triton.replicas", "triton.service.type", "monitoring.enabled", "bogus"):
        assert f"triton-platform:{key}" in str(err)
    assert str(err).startswith("invalid configuration of stack 'test'")


def test_gcp_missing_project_is_reported_once(onnx_dir: Path) -> None:
    raw = gcp(models=[{"name": "mlp", "source": "m/model.onnx", "format": "onnx"}])
    raw["cluster"] = {k: v for k, v in raw["cluster"].items() if k != "project"}
    err = error_of(raw, onnx_dir)
    assert err.keys.count("triton-platform:cluster.project") == 1, str(err)


def test_cloud_rules_join_the_one_error(onnx_dir: Path) -> None:
    raw = gcp(models=[{"name": "mlp", "source": "m/model.onnx", "format": "onnx"}], triton={"version": "99.99"})
    raw["cluster"] = {**raw["cluster"], "location": "westeurope"}
    err = error_of(raw, onnx_dir)
    assert_names(err, "triton.version", "unknown NGC release")
    assert_names(err, "cluster.location", "neither a GCP region nor a zone")


def test_validation_loads_no_pulumi() -> None:
    code = (
        "import sys; from triton_platform.config import parse_config; "
        "import triton_platform.config.rules.gcp, triton_platform.config.rules.azure; "
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('pulumi')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


MLP = {"name": "mlp", "source": "m/model.onnx", "format": "onnx"}
TRT = {"name": "mlp", "source": "m/model.onnx", "format": "tensorrt"}


@pytest.mark.parametrize(
    ("builder", "key", "words"),
    [
        (
            lambda: aws(gpu={"migStrategy": "single", "migProfile": "1g.5gb", "migConfig": "All Balanced"}),
            "gpu.migConfig",
            (),
        ),
        (lambda: aws(gpu={"timeSlicingReplicas": 1}), "gpu.timeSlicingReplicas", ("greater than or equal to 2",)),
        (
            lambda: aws(gpu={"migStrategy": "single", "migProfile": "1g.5gb", "timeSlicingReplicas": 4}),
            "gpu",
            ("fallback",),
        ),
        (lambda: aws(gpu={"gpusPerReplica": 9}), "gpu.gpusPerReplica", ("exceeds the 8 GPU(s)",)),
        (
            lambda: local(modelRepository={"prefix": "/models/"}),
            "modelRepository.prefix",
            ("without leading", "'models'"),
        ),
        (lambda: local(modelRepository={"staticKeys": True}), "modelRepository.staticKeys", ("MinIO",)),
        (lambda: local(triton={"resources": {"cpu": "two"}}), "triton.resources.cpu", ("CPU quantity", "'2'")),
        (
            lambda: local(triton={"resources": {"memory": "8GB"}}),
            "triton.resources.memory",
            ("memory quantity", "'8Gi'"),
        ),
        (
            lambda: local(triton={"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}),
            "triton.autoscaling.minReplicas",
            ("maxReplicas",),
        ),
        (lambda: local(triton={"service": {"httpPort": 8001}}), "triton.service", ("must differ",)),
        (lambda: local(triton={"repositoryPollSeconds": 0}), "triton.repositoryPollSeconds", ()),
        (lambda: local(monitoring={"alerts": {"failureRatio": 2}}), "monitoring.alerts.failureRatio", ()),
        (lambda: local(monitoring={"alerts": {"queueTimeMs": 0}}), "monitoring.alerts.queueTimeMs", ()),
        (lambda: local(publisher={"computeCapabilities": ["sm80"]}), "publisher.computeCapabilities", ("'8.0'",)),
        (lambda: local(publisher={"buildTimeoutSeconds": 5}), "publisher.buildTimeoutSeconds", ("3600",)),
        (lambda: local(publisher={"builder": "docker"}), "publisher.builder", ("'kubernetes'",)),
        (
            lambda: aws(cluster={"name": "p", "region": "us-east-1", "kind": {"nodeImage": "x"}}),
            "cluster.kind",
            ("'local' only",),
        ),
        (lambda: local(cluster={"name": "dev", "region": "us-east-1"}), "cluster.region", ("'aws' only",)),
        (
            lambda: local(cluster={"name": "dev", "gpuNodePool": {"machineType": "x", "gpuProduct": "L4"}}),
            "cluster.gpuNodePool",
            ("kind clusters",),
        ),
        (lambda: local(models=[{**MLP, "instanceCount": 0}]), "models[0].instanceCount", ()),
        (lambda: local(models=[{**MLP, "instanceKind": "gpu"}]), "models[0].instanceKind", ("'cpu'",)),
        (lambda: aws(models=[{**TRT, "workspaceMb": 1}]), "models[0].workspaceMb", ("4096",)),
        (lambda: aws(models=[{**TRT, "hardwareCompatibility": "hopper+"}]), "models[0].hardwareCompatibility", ()),
        (lambda: local(models=[{**MLP, "versionPolicy": {"latest": 0}}]), "models[0].versionPolicy.latest", ()),
        (lambda: local(models=[{**MLP, "revision": -1}]), "models[0].revision", ()),
        (lambda: local(models=[{**MLP, "signature": "model.onnx"}]), "models[0]", ("format 'python' only",)),
        (lambda: local(models=[{**MLP, "cudaGraphs": True}]), "models[0]", ("cudaGraphs needs format 'tensorrt'",)),
        (
            lambda: local(models=[{**MLP, "maxBatchSize": 4, "dynamicBatching": {"preferredBatchSizes": [8]}}]),
            "models[0]",
            ("exceed maxBatchSize 4",),
        ),
        (
            lambda: local(models=[{**MLP, "dynamicBatching": {"maxQueueDelayMicroseconds": -1}}]),
            "models[0].dynamicBatching.maxQueueDelayMicroseconds",
            (),
        ),
    ],
)
def test_every_key_rejects_a_wrong_value(onnx_dir: Path, builder: Any, key: str, words: tuple[str, ...]) -> None:
    assert_names(error_of(builder(), onnx_dir), key, *words)


@pytest.mark.parametrize("digest", ["abc123", "A" * 64, "sha256:" + "a" * 64])
def test_model_sha256_must_be_64_lowercase_hex(onnx_dir: Path, digest: str) -> None:
    model = {"name": "mlp", "source": "https://models.example.com/mlp.onnx", "format": "onnx", "sha256": digest}
    assert_names(error_of(local(models=[model]), onnx_dir), "models[0].sha256")
