"""Engine builders: the EngineJob, the Kubernetes Job manifest and its flow against fake API clients, its scripts."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import onnx
import pytest
from kubernetes.client import (
    V1ContainerState,
    V1ContainerStateRunning,
    V1ContainerStateTerminated,
    V1ContainerStatus,
    V1Job,
    V1JobCondition,
    V1JobStatus,
    V1ObjectMeta,
    V1Pod,
    V1PodList,
    V1PodStatus,
)
from kubernetes.client.exceptions import ApiException
from onnx import TensorProto, helper

from components.gcp.gke_workload_identity import prefix_condition
from tests.support.engine_jobs import (
    CAL_SHA,
    ONNX_SHA,
    RELEASE,
    S3,
    SECRET_SENTINEL,
    TRT_VERSION,
    private_engine_cache,
    store_with_onnx,
)
from tests.support.engine_jobs import engine_job as _job
from tests.support.engine_jobs import engine_spec as _spec
from tests.support.fakes import MemoryStore, image_model, mlp_model, wire_floats
from tests.support.gcs_iam import ObjectRequest, condition_allows, container_env, cp_requests
from triton_platform.catalog import versions
from triton_platform.publisher import fingerprint as fp
from triton_platform.publisher.builders import (
    BuilderRef,
    EngineBuilder,
    EngineJob,
    KubernetesJobBuilder,
    LocalTensorRTBuilder,
    open_builder,
    static_input_shapes,
)
from triton_platform.publisher.builders.kubernetes_job import (
    CALIBRATION_PATH,
    GCLOUD_PARALLEL_COMPOSITE_ENV,
    job_manifest,
    job_name,
    trtexec_args,
)
from triton_platform.publisher.errors import BuildError, StoreError
from triton_platform.publisher.onnx_graph import effective_shapes, read_signature
from triton_platform.publisher.progress import NullProgress
from triton_platform.publisher.stores.ref import CredentialsRef, StoreRef


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private_engine_cache(tmp_path, monkeypatch)


MINIO = StoreRef(
    kind="s3",
    bucket="models",
    endpoint_url="http://127.0.0.1:9000",
    cluster_endpoint_url="http://minio.minio.svc.cluster.local:9000",
    credentials=CredentialsRef(
        source="kubernetes-secret", kubeconfig_path="/tmp/kubeconfig", namespace="minio", name="minio-root"
    ),
)
GCS = StoreRef(kind="gcs", bucket="acme-models")
GCS_KEY = StoreRef(
    kind="gcs",
    bucket="acme-models",
    credentials=CredentialsRef(
        source="kubernetes-secret", kubeconfig_path="/k", namespace="triton", name="gcs-key", secret_key_field="key"
    ),
)
AZURE = StoreRef(kind="azure", bucket="models", account_url="https://acmemodels.blob.core.windows.net")
# The label the stacks put on their GPU pool (triton_platform.catalog.gpu.GPU_POOL_SELECTOR).
GPU_POOL = {"triton-platform/pool": "gpu"}
# GPU feature discovery's architecture labels, integers as strings (NVIDIA/k8s-device-plugin
# docs/gpu-feature-discovery/README.md: nvidia.com/gpu.compute.major "8", .minor "0").
SM80 = {"nvidia.com/gpu.compute.major": "8", "nvidia.com/gpu.compute.minor": "0"}
SM90 = {"nvidia.com/gpu.compute.major": "9", "nvidia.com/gpu.compute.minor": "0"}
GPU_TOLERATIONS = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def _builder_ref(namespace: str = "triton", **kw: Any) -> BuilderRef:
    """The builder a stack describes: a Job as ``trt-builder`` on the GPU pool (``kw``: its other settings)."""
    return BuilderRef(
        kind="kubernetes",
        kubeconfig_path="/nonexistent/kubeconfig",
        namespace=namespace,
        service_account="trt-builder",
        node_selector=GPU_POOL,
        tolerations=GPU_TOLERATIONS,
        **kw,
    )


def _manifest(job: EngineJob, ref: StoreRef, namespace: str = "triton", **kw: Any) -> dict[str, Any]:
    return job_manifest(job, ref, _builder_ref(namespace, **kw))


def _containers(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    pod = manifest["spec"]["template"]["spec"]
    return {c["name"]: c for c in [*pod["initContainers"], *pod["containers"]]}


# --- EngineJob ----------------------------------------------------------------------------------


def test_engine_job_derives_key_and_objects() -> None:
    job = _job()
    assert job.key == fp.engine_key(ONNX_SHA, job.spec, TRT_VERSION, "8.0")
    assert job.onnx_object == f"_cache/onnx/{ONNX_SHA}.onnx"
    assert job.engine_object == f"_cache/engines/resnet/{job.key}/sm80.plan"
    assert job.tensorrt_version == TRT_VERSION
    assert job.calibration_object is None


def test_engine_job_rejects_mismatched_tensorrt() -> None:
    job = _job()
    data = job.model_dump()
    data["tensorrt_version"] = "10.3.0"
    with pytest.raises(ValueError, match=r"is not the TensorRT of NGC release 25\.01"):
        EngineJob.model_validate(data)
    with pytest.raises(ValueError, match=r"ngc_release '99\.99' is not one of"):
        EngineJob.for_model(
            _spec(), onnx_sha256=ONNX_SHA, cache_prefix="_cache", compute_capability="8.0", ngc_release="99.99"
        )


def test_engine_job_survives_a_props_round_trip() -> None:
    # Dynamic-provider props cross the wire as protobuf Structs: every number becomes a float.
    job = _job(_spec(precision="fp16", shapes={"x": {"min": [1, 4], "opt": [4, 4], "max": [8, 4]}}))
    assert EngineJob.model_validate(wire_floats(job.model_dump(mode="json"))) == job


def test_builders_implement_the_protocol() -> None:
    assert isinstance(LocalTensorRTBuilder(), EngineBuilder)
    k = KubernetesJobBuilder(_builder_ref(poll_seconds=1.0))
    assert isinstance(k, EngineBuilder)


# --- trtexec command line ------------------------------------------------------------------------


def test_trtexec_fp16_with_shapes_and_workspace() -> None:
    shapes = {"images": {"min": [1, 3, 224, 224], "opt": [8, 3, 224, 224], "max": [32, 3, 224, 224]}}
    args = trtexec_args(_job(_spec(precision="fp16", shapes=shapes, workspace_mb=2048)))
    assert args[0] == "trtexec"
    assert "--onnx=/work/model.onnx" in args
    assert "--saveEngine=/work/engine.plan" in args
    assert "--fp16" in args
    assert "--int8" not in args
    assert "--memPoolSize=workspace:2048M" in args
    assert "--minShapes=images:1x3x224x224" in args
    assert "--optShapes=images:8x3x224x224" in args
    assert "--maxShapes=images:32x3x224x224" in args
    assert not any(a.startswith("--hardwareCompatibilityLevel") for a in args)


def test_trtexec_int8_uses_the_calibration_cache() -> None:
    args = trtexec_args(_job(_spec(precision="int8", calibration_cache="cal.cache")))
    assert "--int8" in args
    assert f"--calib={CALIBRATION_PATH}" in args


def test_trtexec_precision_flags_and_hardware_compatibility() -> None:
    assert "--noTF32" in trtexec_args(_job(_spec(precision="fp32")))
    tf32 = trtexec_args(_job(_spec(precision="tf32", hardware_compatibility="ampere+")))
    assert "--noTF32" not in tf32
    assert "--fp16" not in tf32
    assert "--hardwareCompatibilityLevel=ampere+" in tf32


def test_trtexec_uses_the_derived_profile_and_quotes_odd_names(tmp_path: Path) -> None:
    sig = read_signature(image_model(tmp_path / "img.onnx"), model="resnet")
    spec = _spec(max_batch_size=4)
    args = trtexec_args(_job(spec, profile=effective_shapes(sig, spec)))
    assert "--minShapes=images:1x3x8x8" in args
    assert "--maxShapes=images:4x3x8x8" in args
    odd = _spec(
        shapes={"input:0": {"min": [1, 2], "opt": [1, 2], "max": [8, 2]}, "b": {"min": [1], "opt": [1], "max": [8]}}
    )
    # Sorted by input name; names with ':' are single-quoted for trtexec's parser.
    assert "--minShapes=b:1,'input:0':1x2" in trtexec_args(_job(odd))


def test_an_int8_graph_mixing_static_and_dynamic_inputs_lists_them_all(tmp_path: Path) -> None:
    # The static input comes from the graph (static_input_shapes), as the publisher and the release
    # rebuild pass it; trtexec's INT8 calibration profile needs it (test_trtexec_parser.py).
    graph = helper.make_graph(
        [helper.make_node("Mul", ["tokens", "temperature"], ["scaled"])],
        "mixed",
        [
            helper.make_tensor_value_info("tokens", TensorProto.FLOAT, [1, "seq"]),
            helper.make_tensor_value_info("temperature", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info("scaled", TensorProto.FLOAT, [1, "seq"])],
    )
    path = tmp_path / "mixed.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    sig = read_signature(path, model="resnet")
    assert static_input_shapes(sig) == {"temperature": [1]}
    shapes = {"tokens": {"min": [1, 1], "opt": [1, 64], "max": [1, 256]}}
    int8 = _spec(precision="int8", calibration_cache="cal.cache", max_batch_size=0, shapes=shapes)
    args = trtexec_args(_job(int8, profile=effective_shapes(sig, int8), static_inputs=static_input_shapes(sig)))
    assert "--optShapes=temperature:1,tokens:1x64" in args
    # Other precisions keep listing the dynamic inputs only (trtexec's build profile skips static ones).
    fp16 = _spec(precision="fp16", max_batch_size=0, shapes=shapes)
    args = trtexec_args(_job(fp16, profile=effective_shapes(sig, fp16), static_inputs=static_input_shapes(sig)))
    assert "--optShapes=tokens:1x64" in args


# --- the Job manifest ----------------------------------------------------------------------------


@pytest.mark.parametrize("k8s_version", ["1.30", "1.31"])
@pytest.mark.parametrize(
    ("ref", "namespace", "precision"),
    [
        (MINIO, "minio", "fp16"),
        (S3, "triton", "int8"),
        (GCS, "triton", "fp32"),
        (GCS_KEY, "triton", "fp16"),
        (AZURE, "triton", "tf32"),
    ],
)
def test_manifest_is_a_valid_job(ref: StoreRef, namespace: str, precision: str, k8s_version: str) -> None:
    spec = _spec(precision=precision, calibration_cache="cal.cache" if precision == "int8" else None)
    manifest = _manifest(_job(spec), ref, namespace=namespace, image_pull_secrets=["ngc"])
    assert kubernetes_validate.validate(manifest, k8s_version, strict=True) == k8s_version


def test_manifest_job_settings() -> None:
    job = _job(timeout_seconds=1800)
    m = _manifest(job, S3)
    assert m["apiVersion"] == "batch/v1"
    assert m["kind"] == "Job"
    assert m["metadata"]["name"] == job_name("resnet", job.key)
    assert m["metadata"]["namespace"] == "triton"
    assert m["spec"]["backoffLimit"] == 0
    assert m["spec"]["activeDeadlineSeconds"] == 1800
    assert m["spec"]["ttlSecondsAfterFinished"] > 0
    pod = m["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == "trt-builder"
    # The pool, narrowed to GPUs of the engine's own architecture (sm80 here).
    assert pod["nodeSelector"] == {**GPU_POOL, **SM80}
    assert pod["tolerations"] == GPU_TOLERATIONS
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert [c["name"] for c in pod["initContainers"]] == ["fetch", "build"]
    assert [c["name"] for c in pod["containers"]] == ["upload"]
    for c in _containers(m).values():
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_manifest_build_container_runs_trtexec_on_one_gpu() -> None:
    job = _job(_spec(precision="fp16"))
    build = _containers(_manifest(job, S3))["build"]
    assert build["image"] == versions.tensorrt_image(RELEASE)
    assert build["command"] == trtexec_args(job)
    assert build["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert build["resources"]["requests"]["nvidia.com/gpu"] == "1"
    # The CLI containers need no GPU.
    for name in ("fetch", "upload"):
        assert "nvidia.com/gpu" not in json.dumps(_containers(_manifest(job, S3))[name]["resources"])


def test_manifest_mixed_mig_build_requests_the_slice_triton_uses() -> None:
    manifest = _manifest(
        _job(),
        S3,
        resources={"nvidia.com/mig-1g.5gb": 1},
        pod_labels={"azure.workload.identity/use": "true"},
    )
    build = _containers(manifest)["build"]
    assert build["resources"]["limits"]["nvidia.com/mig-1g.5gb"] == "1"
    assert "nvidia.com/gpu" not in build["resources"]["limits"]
    labels = manifest["spec"]["template"]["metadata"]["labels"]
    assert labels["azure.workload.identity/use"] == "true"
    assert labels["app.kubernetes.io/name"] == "trt-engine-build"


def test_manifest_s3_keyless_moves_files_with_the_aws_cli() -> None:
    job = _job()
    c = _containers(_manifest(job, S3))
    assert c["fetch"]["image"] == versions.AWS_CLI_IMAGE
    fetch = c["fetch"]["command"][-1]
    assert f"aws s3 cp --only-show-errors s3://acme-models/{job.onnx_object} /work/model.onnx" in fetch
    upload = c["upload"]["command"][-1]
    assert "SHA=$(sha256sum /work/engine.plan" in upload
    assert f"s3://acme-models/{job.engine_object} --metadata sha256=" in upload
    assert "--endpoint-url" not in upload
    env = {e["name"]: e for e in c["upload"]["env"]}
    assert env["AWS_DEFAULT_REGION"]["value"] == "eu-west-1"
    assert "AWS_ACCESS_KEY_ID" not in env  # IRSA: the ServiceAccount's role
    assert "envFrom" not in c["upload"]


def test_manifest_minio_references_the_secret_and_uses_the_cluster_endpoint() -> None:
    job = _job()
    m = _manifest(job, MINIO, namespace="minio")
    c = _containers(m)
    for name in ("fetch", "upload"):
        env = {e["name"]: e for e in c[name]["env"]}
        assert env["AWS_ACCESS_KEY_ID"] == {
            "name": "AWS_ACCESS_KEY_ID",
            "valueFrom": {"secretKeyRef": {"name": "minio-root", "key": "rootUser"}},
        }
        assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": "minio-root",
            "key": "rootPassword",
        }
        assert "value" not in env["AWS_SECRET_ACCESS_KEY"]
        assert "--endpoint-url http://minio.minio.svc.cluster.local:9000" in c[name]["command"][-1]
    assert "127.0.0.1" not in json.dumps(m)
    # The build container never sees credentials.
    assert {e["name"] for e in c["build"]["env"]} == {"HOME"}


def test_manifest_never_contains_secret_values() -> None:
    for ref, ns in ((MINIO, "minio"), (S3, "triton"), (GCS_KEY, "triton"), (AZURE, "triton")):
        text = json.dumps(_manifest(_job(), ref, namespace=ns))
        assert SECRET_SENTINEL not in text
    with_secret = _manifest(_job(), AZURE, credentials_secret="azure-storage")
    for name in ("fetch", "upload"):
        assert _containers(with_secret)[name]["envFrom"] == [{"secretRef": {"name": "azure-storage"}}]
    assert "--auth-mode login" not in json.dumps(with_secret)


def test_manifest_secret_must_live_in_the_job_namespace() -> None:
    with pytest.raises(BuildError, match="a pod can only reference Secrets in its own namespace"):
        _manifest(_job(), MINIO, namespace="triton")
    # An explicit Secret in the Job's namespace is the way out.
    m = _manifest(_job(), MINIO, namespace="triton", credentials_secret="minio-copy")
    assert _containers(m)["fetch"]["envFrom"] == [{"secretRef": {"name": "minio-copy"}}]


def test_manifest_gcs_and_azure_keyless() -> None:
    job = _job()
    gcs = _containers(_manifest(job, GCS))
    assert gcs["fetch"]["image"] == versions.GCLOUD_IMAGE
    assert f"gcloud storage cp gs://acme-models/{job.onnx_object} /work/model.onnx" in gcs["fetch"]["command"][-1]
    assert "--custom-metadata=sha256=" in gcs["upload"]["command"][-1]
    az_manifest = _manifest(job, AZURE)
    az = _containers(az_manifest)
    assert az["fetch"]["image"] == versions.AZURE_CLI_IMAGE
    fetch = az["fetch"]["command"][-1]
    assert "az login --service-principal" in fetch
    assert "--account-name acmemodels --container-name models" in fetch
    assert "--auth-mode login" in fetch
    assert az_manifest["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"


# The engine sizes a builder uploads: a small test engine, and a real one (TensorRT plans of
# vision and language models run from hundreds of MiB to GBs) past gcloud's 150 MiB threshold.
@pytest.mark.parametrize("size", [4 << 20, 2 << 30], ids=["4MiB", "2GiB"])
@pytest.mark.parametrize("ref", [GCS, GCS_KEY], ids=["workload-identity", "key-secret"])
def test_gcs_job_stays_inside_the_builders_prefix_condition(ref: StoreRef, size: int) -> None:
    # The condition exactly as the GKE stack writes it on the builder's roles/storage.objectUser
    # (components/gcp/gke_workload_identity.py), for the store's cache prefix; the requests are
    # what `gcloud storage cp` makes with the container's own environment (tests/support/gcs_iam.py:
    # parallel composite uploads put parts under gcloud/tmp/... at the bucket root).
    job = _job(_spec(precision="int8", calibration_cache="cal.cache"))
    condition = prefix_condition(ref.bucket, ref.cache_prefix)
    containers = _containers(_manifest(job, ref))
    seen = 0
    for name in ("fetch", "upload"):
        env = container_env(containers[name])
        assert env[GCLOUD_PARALLEL_COMPOSITE_ENV] == "False"
        for line in containers[name]["command"][-1].splitlines():
            if line.startswith("gcloud storage cp "):
                for request in cp_requests(line, env, file_size=size):
                    seen += 1
                    assert condition_allows(condition, request), f"{name}: {request} is outside {condition}"
    assert seen == 3  # ONNX and calibration cache down, engine up: one request each


def test_gcs_upload_with_gclouds_default_would_leave_the_prefix() -> None:
    # Why the Job sets the property: with gcloud's default, a real-sized engine's parts land at the
    # bucket root and the prefix condition refuses them (403), while a small one still passes.
    job = _job()
    condition = prefix_condition(GCS.bucket, GCS.cache_prefix)
    upload = _containers(_manifest(job, GCS))["upload"]
    env = container_env(upload)
    del env[GCLOUD_PARALLEL_COMPOSITE_ENV]
    (line,) = [ln for ln in upload["command"][-1].splitlines() if ln.startswith("gcloud storage cp ")]
    assert all(condition_allows(condition, r) for r in cp_requests(line, env, file_size=4 << 20))
    denied = [r for r in cp_requests(line, env, file_size=2 << 30) if not condition_allows(condition, r)]
    assert denied
    assert all("/objects/gcloud/tmp/parallel_composite_uploads/" in r.resource_name for r in denied)
    # The condition itself: objects under the prefix and listing them, nothing at the bucket root.
    assert condition_allows(
        condition,
        ObjectRequest("storage.objects.list", "projects/_/buckets/acme-models", list_prefix="_cache/engines/"),
    )
    assert not condition_allows(
        condition, ObjectRequest("storage.objects.list", "projects/_/buckets/acme-models", list_prefix="")
    )


def test_manifest_gcs_key_secret_is_mounted_as_a_file() -> None:
    m = _manifest(_job(), GCS_KEY)
    pod = m["spec"]["template"]["spec"]
    vol = next(v for v in pod["volumes"] if v["name"] == "gcp-key")
    assert vol["secret"] == {
        "secretName": "gcs-key",
        "items": [{"key": "key", "path": "key.json"}],
        "defaultMode": 0o440,
    }
    env = {e["name"]: e for e in _containers(m)["fetch"]["env"]}
    assert env["CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE"]["value"].endswith("/key.json")


def test_manifest_int8_fetches_the_calibration_cache() -> None:
    job = _job(_spec(precision="int8", calibration_cache="cal.cache"))
    assert job.calibration_object == f"_cache/calibration/{CAL_SHA}.cache"
    fetch = _containers(_manifest(job, S3))["fetch"]["command"][-1]
    assert f"s3://acme-models/{job.calibration_object} {CALIBRATION_PATH}" in fetch


@pytest.mark.parametrize("model", ["resnet", "My_Model.v2", "x" * 63, "a.b_c-d"])
def test_job_names_are_dns_labels(model: str) -> None:
    name = job_name(model, "abcdef0123456789")
    assert len(name) <= 63
    assert name.endswith("-abcdef0123")
    assert name == name.lower()
    assert all(ch.isalnum() or ch == "-" for ch in name)
    assert name[0].isalpha()
    assert name[-1].isalnum()


# --- KubernetesJobBuilder flow against fake API clients -----------------------------------------


def _status(state: str, *, reason: str | None = None, message: str | None = None) -> V1Job:
    if state == "active":
        return V1Job(status=V1JobStatus(active=1))
    if state == "succeeded":
        return V1Job(status=V1JobStatus(succeeded=1, conditions=[V1JobCondition(type="Complete", status="True")]))
    return V1Job(
        status=V1JobStatus(
            failed=1, conditions=[V1JobCondition(type="Failed", status="True", reason=reason, message=message)]
        )
    )


def _cs(name: str, *, exit_code: int | None = None, running: bool = False) -> V1ContainerStatus:
    state = V1ContainerState(
        running=V1ContainerStateRunning() if running else None,
        terminated=V1ContainerStateTerminated(exit_code=exit_code) if exit_code is not None else None,
    )
    return V1ContainerStatus(name=name, image="i", image_id="", ready=False, restart_count=0, state=state)


class FakeBatchApi:
    """Test-only stand-in for kubernetes.client.BatchV1Api: replays a script of Job states."""

    def __init__(self, states: list[V1Job], *, on_success: Any = None, conflict: bool = False) -> None:
        self.states = states
        self.on_success = on_success
        self.conflict = conflict
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.reads = 0

    def create_namespaced_job(self, namespace: str, body: dict[str, Any]) -> V1Job:
        if self.conflict and not self.created:
            self.created.append(body)
            raise ApiException(status=409, reason="Conflict")
        self.created.append(body)
        return V1Job(metadata=V1ObjectMeta(name=body["metadata"]["name"], namespace=namespace))

    def read_namespaced_job_status(self, name: str, namespace: str) -> V1Job:
        state = self.states[min(self.reads, len(self.states) - 1)]
        self.reads += 1
        if state.status.succeeded and self.on_success is not None:
            self.on_success()
        return state

    def delete_namespaced_job(self, name: str, namespace: str, propagation_policy: str) -> None:
        assert propagation_policy == "Background"  # the pods go too
        self.deleted.append(name)


class FakeCoreApi:
    """Test-only stand-in for kubernetes.client.CoreV1Api: one pod and per-container logs."""

    def __init__(self, pod: V1Pod | None = None, logs: dict[str, str] | None = None) -> None:
        self.pod = pod
        self.logs = logs or {}
        self.log_requests: list[tuple[str, int]] = []

    def list_namespaced_pod(self, namespace: str, label_selector: str) -> V1PodList:
        assert label_selector.startswith("job-name=trt-")
        return V1PodList(items=[self.pod] if self.pod else [])

    def read_namespaced_pod_log(self, name: str, namespace: str, container: str, tail_lines: int) -> str:
        self.log_requests.append((container, tail_lines))
        return "\n".join(self.logs.get(container, "").splitlines()[-tail_lines:]) + "\n"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds


def _builder(batch: FakeBatchApi, core: FakeCoreApi, clock: FakeClock | None = None) -> KubernetesJobBuilder:
    clock = clock or FakeClock()
    return KubernetesJobBuilder(
        _builder_ref(poll_seconds=30.0),
        batch_api=batch,
        core_api=core,
        clock=clock,
        sleep=clock.sleep,
    )


def test_kubernetes_build_success() -> None:
    job = _job()
    store = store_with_onnx(job)
    engine = b"engine-bytes"
    batch = FakeBatchApi(
        [_status("active"), _status("active"), _status("succeeded")],
        on_success=lambda: store.put(job.engine_object, engine),  # what the upload container does
    )
    pod = V1Pod(
        metadata=V1ObjectMeta(name="p"),
        status=V1PodStatus(
            phase="Running", init_container_statuses=[_cs("fetch", exit_code=0), _cs("build", running=True)]
        ),
    )
    progress = NullProgress()
    _builder(batch, FakeCoreApi(pod)).build(job, store, progress)
    assert len(batch.created) == 1
    assert batch.created[0]["metadata"]["name"] == job_name(job.model, job.key)
    assert batch.deleted == [job_name(job.model, job.key)]
    assert store.read_bytes(job.engine_object) == engine
    assert [op.bytes for op in progress.summary()] == [len(engine)]


@pytest.mark.parametrize(
    ("cc", "labels"),
    [("8.0", SM80), ("9.0", SM90), ("8.9", {"nvidia.com/gpu.compute.major": "8", "nvidia.com/gpu.compute.minor": "9"})],
)
def test_each_engine_job_runs_on_its_own_architecture(cc: str, labels: dict[str, str]) -> None:
    # On main every Job ran on the pool's GPU whatever its compute capability, so an sm80
    # engine was shipped as model.sm90.plan.
    pod = _manifest(_job(cc=cc), S3)["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {**GPU_POOL, **labels}


def test_stack_selectors_per_architecture_win() -> None:
    # GKE runs no GFD: the stack names the architecture by GKE's accelerator label instead.
    gke = {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    pod = _manifest(_job(cc="8.9"), S3, compute_capability_selectors={"8.9": gke})["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {**GPU_POOL, **gke}


def test_an_architecture_no_pool_provides_is_refused_before_anything_runs() -> None:
    job = _job(cc="9.0")
    store = store_with_onnx(job)
    batch = FakeBatchApi([_status("succeeded")])
    builder = KubernetesJobBuilder(
        _builder_ref(poll_seconds=1.0, compute_capability_selectors={"8.0": SM80}),
        batch_api=batch,
        core_api=FakeCoreApi(),
    )
    with pytest.raises(BuildError, match=r"no GPU pool of the cluster provides compute capability 9\.0") as exc:
        builder.build(job, store, NullProgress())
    assert exc.value.key == "publisher.computeCapabilities"
    assert batch.created == []


def test_an_input_name_trtexec_cannot_carry_is_refused_before_anything_runs(tmp_path: Path) -> None:
    # trtexec splits --minShapes on ',' before reading quotes (test_trtexec_parser.py, recorded).
    spec = _spec(shapes={"ids,mask": {"min": [1, 4], "opt": [4, 4], "max": [8, 4]}})
    job = _job(spec, onnx_path=str(mlp_model(tmp_path / "m.onnx")))
    store = MemoryStore(S3)
    batch = FakeBatchApi([_status("succeeded")])
    builder = KubernetesJobBuilder(_builder_ref(poll_seconds=1.0), batch_api=batch, core_api=FakeCoreApi())
    with pytest.raises(BuildError, match=r"input 'ids,mask' contains ','") as exc:
        builder.build(job, store, NullProgress())
    assert exc.value.key == "models[].shapes.ids,mask"
    assert batch.created == []
    assert store.uploads() == []


def test_builder_ref_carries_the_selectors_to_the_builder() -> None:
    ref = BuilderRef(kind="kubernetes", kubeconfig_path="/k", compute_capability_selectors={"8.0": SM80})
    made = open_builder(ref)
    assert isinstance(made, KubernetesJobBuilder)
    assert made.ref is ref  # whole: what reaches the Job manifest is what the stack described
    assert made.ref.compute_capability_selectors == {"8.0": SM80}


def test_kubernetes_build_skips_existing_engine() -> None:
    job = _job()
    store = store_with_onnx(job)
    store.put(job.engine_object, b"already")
    batch = FakeBatchApi([_status("succeeded")])
    _builder(batch, FakeCoreApi()).build(job, store, NullProgress())
    assert batch.created == []
    assert batch.reads == 0


def test_kubernetes_build_uploads_missing_onnx_from_local_copy(tmp_path: Path) -> None:
    onnx_path = mlp_model(tmp_path / "m.onnx")
    sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    job = EngineJob.for_model(
        _spec(),
        onnx_sha256=sha,
        cache_prefix="_cache",
        compute_capability="8.0",
        ngc_release=RELEASE,
        onnx_path=str(onnx_path),
    )
    store = MemoryStore(S3)
    batch = FakeBatchApi([_status("succeeded")], on_success=lambda: store.put(job.engine_object, b"e"))
    _builder(batch, FakeCoreApi()).build(job, store, NullProgress())
    assert store.uploads() == [job.onnx_object]
    assert store.stat(job.onnx_object).sha256 == sha  # type: ignore[union-attr]


def test_kubernetes_build_without_onnx_anywhere_fails_before_creating_a_job() -> None:
    job = _job()
    batch = FakeBatchApi([_status("succeeded")])
    with pytest.raises(StoreError, match=r"bucket 'acme-models'.*ONNX model .* is not in the bucket"):
        _builder(batch, FakeCoreApi()).build(job, MemoryStore(S3), NullProgress())
    assert batch.created == []


def test_kubernetes_build_failure_reports_the_log_tail() -> None:
    job = _job()
    store = store_with_onnx(job)
    batch = FakeBatchApi(
        [
            _status("active"),
            _status("failed", reason="BackoffLimitExceeded", message="Job has reached the specified backoff limit"),
        ]
    )
    pod = V1Pod(
        metadata=V1ObjectMeta(name="trt-resnet-pod"),
        status=V1PodStatus(
            phase="Failed",
            init_container_statuses=[_cs("fetch", exit_code=0), _cs("build", exit_code=1)],
            container_statuses=[_cs("upload")],
        ),
    )
    build_log = "\n".join(f"[TRT] line {i}" for i in range(80)) + "\n[E] [TRT] ModelImporter.cpp: unsupported op"
    core = FakeCoreApi(pod, {"build": build_log, "fetch": "download ok"})
    with pytest.raises(BuildError) as err:
        _builder(batch, core).build(job, store, NullProgress())
    e = err.value
    assert "model 'resnet'" in str(e)
    assert "failed in container 'build'" in str(e)
    assert "BackoffLimitExceeded" in str(e)
    tail = e.log_tail.splitlines()
    assert len(tail) == 50
    assert tail[-1] == "[E] [TRT] ModelImporter.cpp: unsupported op"
    assert "[TRT] line 31" in tail  # 49 numbered lines + the error line
    assert "[TRT] line 30" not in tail
    assert core.log_requests == [("build", 50)]
    assert batch.deleted == [job_name(job.model, job.key)]
    assert store.stat(job.engine_object) is None


def test_kubernetes_build_deadline_exceeded() -> None:
    job = _job()
    batch = FakeBatchApi(
        [_status("failed", reason="DeadlineExceeded", message="Job was active longer than specified deadline")]
    )
    with pytest.raises(BuildError, match=r"timed out \(activeDeadlineSeconds") as err:
        _builder(batch, FakeCoreApi(None)).build(job, store_with_onnx(job), NullProgress())
    assert "no pod was created" in err.value.log_tail


def test_kubernetes_build_times_out_when_the_job_never_finishes() -> None:
    job = _job(timeout_seconds=60)
    clock = FakeClock()
    batch = FakeBatchApi([_status("active")])
    pod = V1Pod(
        metadata=V1ObjectMeta(name="p"),
        status=V1PodStatus(phase="Running", init_container_statuses=[_cs("fetch", running=True)]),
    )
    core = FakeCoreApi(pod, {"fetch": "downloading..."})
    with pytest.raises(BuildError, match="did not finish within 60 s") as err:
        _builder(batch, core, clock).build(job, store_with_onnx(job), NullProgress())
    assert err.value.log_tail.strip() == "downloading..."
    assert clock.now - 1000.0 > 60
    assert clock.sleeps <= 10  # bounded by the deadline, polling every 30 s
    assert batch.deleted == [job_name(job.model, job.key)]


def test_kubernetes_build_adopts_a_running_job_with_the_same_key() -> None:
    job = _job()
    store = store_with_onnx(job)
    batch = FakeBatchApi(
        [_status("active"), _status("succeeded")], on_success=lambda: store.put(job.engine_object, b"e"), conflict=True
    )
    _builder(batch, FakeCoreApi()).build(job, store, NullProgress())
    assert len(batch.created) == 1  # the 409; the existing Job was adopted, not recreated


def test_kubernetes_build_success_without_engine_in_bucket_is_an_error() -> None:
    job = _job()
    batch = FakeBatchApi([_status("succeeded")])
    with pytest.raises(BuildError, match=r"succeeded but .* is not in the bucket"):
        _builder(batch, FakeCoreApi()).build(job, store_with_onnx(job), NullProgress())


# --- the Job's shell scripts against a real S3 server ---------------------------------------------


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_job_scripts_move_files_with_the_real_aws_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetch and upload containers' scripts, run here with awscli against moto on 127.0.0.1.

    Only the pod's /work directory is replaced by a temporary one; the engine the upload script
    writes must read back through our S3 store with its sha256 metadata.
    """
    import shutil
    import subprocess

    import boto3

    from tests.support import servers
    from triton_platform.publisher.stores import open_store

    aws = Path(sys.executable).parent / "aws"
    if not aws.exists() or not shutil.which("sha256sum"):
        pytest.skip("awscli (requirements-dev.txt) and sha256sum are needed to run the Job's scripts")
    with contextlib.ExitStack() as stack:
        try:
            endpoint = stack.enter_context(servers.moto_server())
        except servers.ServerUnavailable as exc:
            pytest.skip(f"moto unavailable: {exc}")
        env = {**endpoint.env(), "PATH": f"{aws.parent}:{os.environ.get('PATH', '')}", "HOME": str(tmp_path)}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        ref = StoreRef(kind="s3", bucket="models", endpoint_url=endpoint.url, region=endpoint.region)
        boto3.client("s3", endpoint_url=endpoint.url, region_name=endpoint.region).create_bucket(Bucket="models")
        store = open_store(ref)
        onnx_path = mlp_model(tmp_path / "m.onnx")
        sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
        job = EngineJob.for_model(
            _spec(), onnx_sha256=sha, cache_prefix="_cache", compute_capability="8.0", ngc_release=RELEASE
        )
        store.upload_file(job.onnx_object, onnx_path, sha256=sha)
        work = tmp_path / "work"
        work.mkdir()
        containers = _containers(_manifest(job, ref))

        def run(script: str) -> None:
            body = script.replace("/work/", f"{work}/")
            done = subprocess.run(["/bin/sh", "-c", body], env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr[-2000:]

        run(containers["fetch"]["command"][-1])
        assert (work / "model.onnx").read_bytes() == onnx_path.read_bytes()
        engine = os.urandom(70_000)
        (work / "engine.plan").write_bytes(engine)  # what trtexec would have written
        run(containers["upload"]["command"][-1])
        info = store.stat(job.engine_object)
        assert info is not None
        assert info.size == len(engine)
        assert info.sha256 == hashlib.sha256(engine).hexdigest()
        assert store.read_bytes(job.engine_object) == engine


def test_kubernetes_build_replaces_a_finished_job_with_the_same_key() -> None:
    job = _job()
    store = store_with_onnx(job)
    stale = _status("failed", reason="BackoffLimitExceeded")
    batch = FakeBatchApi(
        [stale, _status("succeeded")], on_success=lambda: store.put(job.engine_object, b"e"), conflict=True
    )
    _builder(batch, FakeCoreApi()).build(job, store, NullProgress())
    assert len(batch.created) == 2  # the 409, then the replacement
    name = job_name(job.model, job.key)
    assert batch.deleted == [name, name]  # the stale Job, then ours after success
