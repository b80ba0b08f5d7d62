"""Builds TensorRT engines with a Kubernetes Job on the target GPU pool, running ``trtexec``.

The Job runs in the NGC TensorRT image of the same release as Triton, on the GPU the engine
will serve on, so TensorRT version and compute capability match by construction:

1. init ``fetch``  (cloud CLI image): copy the content-addressed ONNX (and INT8 calibration
   cache) from the bucket into an emptyDir;
2. init ``build``  (``nvcr.io/nvidia/tensorrt:<release>-py3``): ``trtexec`` with one GPU;
3. ``upload``       (cloud CLI image): upload the engine with its sha256 to ``job.engine_object``.

Credentials: the pod's ServiceAccount (IRSA / GKE or AKS Workload Identity, keyless) or,
for MinIO and explicit static keys, references to a Kubernetes Secret; never values.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from triton_platform.catalog import versions
from triton_platform.catalog.gpu import compute_capability_selector
from triton_platform.publisher.builders.base import BuilderRef, EngineJob
from triton_platform.publisher.errors import BuildError, StoreError
from triton_platform.publisher.fingerprint import file_sha256
from triton_platform.publisher.stores.base import SHA256_METADATA

if TYPE_CHECKING:
    from triton_platform.publisher.progress import Progress
    from triton_platform.publisher.stores.base import ObjectStore
    from triton_platform.publisher.stores.ref import StoreRef

WORK_DIR = "/work"
# The pod's own emptyDir at /tmp (the root filesystem is read-only), not a shared host directory.
POD_TMP = "/tmp"  # noqa: S108
ONNX_PATH = f"{WORK_DIR}/model.onnx"
CALIBRATION_PATH = f"{WORK_DIR}/calibration.cache"
ENGINE_PATH = f"{WORK_DIR}/engine.plan"
LOG_TAIL_LINES = 50
# Keep finished Jobs around a while when this process dies before deleting them.
TTL_SECONDS_AFTER_FINISHED = 3600
# Our own wait stops this long after activeDeadlineSeconds should have failed the Job.
DEADLINE_GRACE_SECONDS = 120
RUN_AS_USER = 1000
GCP_KEY_DIR = "/var/run/secrets/triton-platform/gcp"
# gcloud reads any property from CLOUDSDK_<SECTION>_<PROPERTY>: storage/parallel_composite_upload_enabled.
GCLOUD_PARALLEL_COMPOSITE_ENV = "CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED"

_AZURE_ACCOUNT_HOST = re.compile(r"^(?P<account>[a-z0-9]{3,24})\.blob\.core\.windows\.net$")


def _slug(model: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-")[:40].strip("-") or "model"


def job_name(model: str, key: str) -> str:
    """A DNS-1123 label (<= 63 chars, also a valid ``job-name`` label value) from model + key[:10]."""
    return f"trt-{_slug(model)}-{key[:10]}"


def _check_input_name(job: EngineJob, name: str) -> None:
    """Refuse an input name trtexec's shape lists cannot carry (TensorRT OSS v10.8.0, sampleOptions.cpp).

    ``getShapesBuild`` splits the list on every ``,`` before it looks at quotes, and
    ``splitNameAndValue`` wants exactly two ``'`` in an entry: a name with either is cut apart.
    """
    bad = [c for c in (",", "'") if c in name]
    if bad:
        raise BuildError(
            f"input {name!r} contains {' and '.join(repr(c) for c in bad)}, which trtexec's --minShapes/--optShapes/"
            "--maxShapes lists cannot carry (it splits them on ',' before reading quotes); rename the input "
            "in the ONNX graph, or build this model with the local builder",
            model=job.model,
            key=f"models[].shapes.{name}",
            example="publisher: {builder: local}",
        )


def _shape_arg(shapes: Mapping[str, Sequence[int]]) -> str:
    parts = []
    for name, dims in shapes.items():
        # trtexec takes everything before the last ':' as the name; quoting says so explicitly.
        quoted = f"'{name}'" if ":" in name else name
        parts.append(f"{quoted}:{'x'.join(str(d) for d in dims)}")
    return ",".join(parts)


def _profile_args(job: EngineJob) -> list[str]:
    """--minShapes/--optShapes/--maxShapes: the dynamic inputs' profile and, for INT8, the static inputs too.

    trtexec 10.8 copies these lists into its INT8 calibration profile and requires every network
    input there (sampleEngines.cpp); for the build profile it skips static inputs it finds listed.
    """
    shapes = {n: (r.min, r.opt, r.max) for n, r in job.shapes.items()}
    if not shapes:
        return []  # a static model takes no shapes ("Static model does not take explicit shapes")
    if job.calibration_shapes:
        for name, dims in job.static_inputs.items():
            shapes.setdefault(name, (dims, dims, dims))
    shapes = dict(sorted(shapes.items()))
    for name in shapes:
        _check_input_name(job, name)
    return [
        f"--{flag}=" + _shape_arg({n: dims[i] for n, dims in shapes.items()})
        for i, flag in enumerate(("minShapes", "optShapes", "maxShapes"))
    ]


def trtexec_args(job: EngineJob) -> list[str]:
    """The ``trtexec`` command line building ``job``'s engine from ONNX_PATH into ENGINE_PATH."""
    spec = job.spec
    args = [
        "trtexec",
        f"--onnx={ONNX_PATH}",
        f"--saveEngine={ENGINE_PATH}",
        f"--memPoolSize=workspace:{spec.workspace_mb}M",
        "--skipInference",
    ]
    if spec.precision == "fp16":
        args.append("--fp16")
    elif spec.precision == "int8":
        # FP16 as well, so layers without INT8 kernels fall back to FP16 rather than FP32.
        args += ["--int8", "--fp16", f"--calib={CALIBRATION_PATH}"]
    elif spec.precision == "fp32":
        args.append("--noTF32")  # strict FP32; TF32 is trtexec's default and is precision 'tf32'
    args += _profile_args(job)
    if spec.hardware_compatibility == "ampere+":
        args.append("--hardwareCompatibilityLevel=ampere+")
    return args


def _split_s3_endpoint(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise StoreError(
            f"endpoint {url!r} is not an http(s) URL",
            key="endpoint_url",
            example="http://minio.minio.svc.cluster.local:9000",
        )
    return url.rstrip("/")


class _Cli:
    """Shell snippets for one cloud's CLI: copy down, copy up with sha256 metadata."""

    def __init__(self, store_ref: StoreRef, *, endpoint_url: str | None, static_credentials: bool) -> None:
        self.ref = store_ref
        self.endpoint_url = endpoint_url
        self.static = static_credentials

    @property
    def image(self) -> str:
        return {"s3": versions.AWS_CLI_IMAGE, "gcs": versions.GCLOUD_IMAGE, "azure": versions.AZURE_CLI_IMAGE}[
            self.ref.kind
        ]

    def env(self) -> list[dict[str, Any]]:
        # Non-root with a read-only root filesystem: every CLI keeps its state under /tmp.
        env: list[dict[str, Any]] = [{"name": "HOME", "value": POD_TMP}]
        if self.ref.kind == "s3":
            if self.ref.region:
                env.append({"name": "AWS_DEFAULT_REGION", "value": self.ref.region})
            if self.static:
                # Static keys come from the Secret; do not probe the node's instance metadata.
                env.append({"name": "AWS_EC2_METADATA_DISABLED", "value": "true"})
        elif self.ref.kind == "gcs":
            env.append({"name": "CLOUDSDK_CONFIG", "value": f"{POD_TMP}/gcloud"})
            env.append({"name": "CLOUDSDK_CORE_DISABLE_PROMPTS", "value": "1"})
            # gcloud storage cp uploads files over 150 MiB as parallel composite uploads, whose parts
            # go under gcloud/tmp/parallel_composite_uploads/ at the bucket root: outside the builder's
            # prefix-scoped IAM condition, so every real engine would get 403. The property
            # storage/parallel_composite_upload_enabled=False turns that off (cp has no flag for it).
            env.append({"name": GCLOUD_PARALLEL_COMPOSITE_ENV, "value": "False"})
        else:
            env.append({"name": "AZURE_CONFIG_DIR", "value": f"{POD_TMP}/azure"})
        return env

    def _s3_flags(self) -> str:
        flags = ["--only-show-errors"]
        if self.endpoint_url:
            flags += ["--endpoint-url", _split_s3_endpoint(self.endpoint_url)]
        return " ".join(shlex.quote(f) for f in flags)

    def _azure_target(self, key: str) -> str:
        account_url = self.ref.account_url or ""
        if _AZURE_ACCOUNT_HOST.match(urlparse(account_url).hostname or ""):
            where = f"--account-name {shlex.quote(self.ref.account_name())}"
        else:
            # Azurite or a custom domain; works with an account key or a connection string.
            where = f"--blob-endpoint {shlex.quote(account_url)}"
        # Keyless: the Workload Identity login below; static: the key comes from the Secret's env.
        auth = "" if self.static else " --auth-mode login"
        return f"{where} --container-name {shlex.quote(self.ref.bucket)} --name {shlex.quote(key)}{auth}"

    def login(self) -> str:
        if self.ref.kind == "azure" and not self.static:
            # AKS Workload Identity injects these variables and the projected token file.
            return (
                'az login --service-principal -u "$AZURE_CLIENT_ID" -t "$AZURE_TENANT_ID" '
                '--federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --allow-no-subscriptions >/dev/null'
            )
        return ""

    def download(self, key: str, dest: str) -> str:
        d = shlex.quote(dest)
        if self.ref.kind == "s3":
            return f"aws s3 cp {self._s3_flags()} {shlex.quote(f's3://{self.ref.bucket}/{key}')} {d}"
        if self.ref.kind == "gcs":
            return f"gcloud storage cp {shlex.quote(f'gs://{self.ref.bucket}/{key}')} {d}"
        return f"az storage blob download --only-show-errors {self._azure_target(key)} --file {d} >/dev/null"

    def upload(self, src: str, key: str, sha_var: str) -> str:
        s = shlex.quote(src)
        meta = f'{SHA256_METADATA}="${sha_var}"'
        if self.ref.kind == "s3":
            target = shlex.quote(f"s3://{self.ref.bucket}/{key}")
            return f"aws s3 cp {self._s3_flags()} {s} {target} --metadata {meta}"
        if self.ref.kind == "gcs":
            target = shlex.quote(f"gs://{self.ref.bucket}/{key}")
            return f"gcloud storage cp {s} {target} --custom-metadata={meta}"
        return (
            f"az storage blob upload --only-show-errors {self._azure_target(key)} --file {s} "
            f"--overwrite true --metadata {meta} >/dev/null"
        )


def _script(*lines: str) -> list[str]:
    body = "\n".join(["set -eu", *[line for line in lines if line]])
    return ["/bin/sh", "-c", body]


def architecture_selector(
    job: EngineJob,
    node_selector: Mapping[str, str],
    compute_capability_selectors: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, str]:
    """The build pod's node selector: the GPU pool's, plus nodes whose GPU is ``job``'s architecture.

    An engine only runs on the compute capability it was built on, so each Job must land on a
    GPU of exactly that capability. ``compute_capability_selectors`` (from the stack: the
    capabilities its GPU pools provide, each with the labels of such nodes) wins; a capability
    missing from it is one no pool provides, an error rather than a mislabelled engine. Without
    it, GPU feature discovery's ``nvidia.com/gpu.compute.major``/``.minor`` select the architecture.
    """
    cc = job.compute_capability
    if compute_capability_selectors:
        extra = compute_capability_selectors.get(cc)
        if extra is None:
            provided = ", ".join(sorted(compute_capability_selectors))
            raise BuildError(
                f"no GPU pool of the cluster provides compute capability {cc} (the pools provide {provided}); "
                f"an sm{cc.replace('.', '')} engine built elsewhere would not load on its GPUs",
                model=job.model,
                key="publisher.computeCapabilities",
                example=f"[{provided}]",
            )
    else:
        # GPU feature discovery's nvidia.com/gpu.compute.major/minor ("8", "0" for sm80).
        extra = compute_capability_selector(cc)
    return {**dict(node_selector), **dict(extra)}


def _container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


@dataclass(frozen=True)
class _Credentials:
    """How the pod's CLI containers get bucket credentials: a whole Secret, Secret keys, or nothing (keyless)."""

    env_from: list[dict[str, Any]] = field(default_factory=list)
    env: list[dict[str, Any]] = field(default_factory=list)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def static(self) -> bool:
        """True when keys come from a Secret (then no cloud identity login is attempted)."""
        return bool(self.env_from or self.env)


def _credentials(job: EngineJob, store_ref: StoreRef, builder: BuilderRef) -> _Credentials:
    """The pod's credentials, by precedence: ``builder.credentials_secret``, a ``kubernetes-secret`` store
    credential, else the ServiceAccount's cloud identity (keyless). References only, never a value."""
    creds = store_ref.credentials
    if builder.credentials_secret:
        return _Credentials(env_from=[{"secretRef": {"name": builder.credentials_secret}}])
    if creds.source != "kubernetes-secret":
        return _Credentials()
    if creds.namespace != builder.namespace:
        raise BuildError(
            f"Secret {creds.namespace}/{creds.name} is in another namespace than the build Job ({builder.namespace}); "
            "a pod can only reference Secrets in its own namespace",
            model=job.model,
            key="builder namespace",
            example=f"build in namespace {creds.namespace!r}, or pass credentials_secret",
        )

    def ref(env_name: str, key: str) -> dict[str, Any]:
        return {"name": env_name, "valueFrom": {"secretKeyRef": {"name": creds.name, "key": key}}}

    if store_ref.kind == "s3":
        return _Credentials(
            env=[ref("AWS_ACCESS_KEY_ID", creds.access_key_field), ref("AWS_SECRET_ACCESS_KEY", creds.secret_key_field)]
        )
    if store_ref.kind == "azure":
        return _Credentials(env=[ref("AZURE_STORAGE_KEY", creds.secret_key_field)])
    # GCS: a service-account JSON key, mounted as a file gcloud is pointed at.
    return _Credentials(
        env=[{"name": "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE", "value": f"{GCP_KEY_DIR}/key.json"}],
        volumes=[
            {
                "name": "gcp-key",
                "secret": {
                    "secretName": creds.name,
                    "items": [{"key": creds.secret_key_field, "path": "key.json"}],
                    "defaultMode": 0o440,
                },
            }
        ],
        mounts=[{"name": "gcp-key", "mountPath": GCP_KEY_DIR, "readOnly": True}],
    )


def _work_mounts() -> list[dict[str, Any]]:
    return [{"name": "work", "mountPath": WORK_DIR}, {"name": "tmp", "mountPath": POD_TMP}]


def _cli_container(name: str, cli: _Cli, creds: _Credentials, lines: Sequence[str]) -> dict[str, Any]:
    """A small container running ``lines`` with the cloud's CLI: fetching the inputs, uploading the engine."""
    container: dict[str, Any] = {
        "name": name,
        "image": cli.image,
        "imagePullPolicy": "IfNotPresent",
        "command": _script(*lines),
        "env": [*cli.env(), *creds.env],
        "volumeMounts": [*_work_mounts(), *creds.mounts],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "securityContext": _container_security(),
    }
    if creds.env_from:
        container["envFrom"] = creds.env_from
    return container


def _fetch_lines(cli: _Cli, job: EngineJob) -> list[str]:
    lines = [cli.login(), cli.download(job.onnx_object, ONNX_PATH)]
    if job.calibration_object:
        lines.append(cli.download(job.calibration_object, CALIBRATION_PATH))
    return lines


def _upload_lines(cli: _Cli, job: EngineJob) -> list[str]:
    return [
        cli.login(),
        f"test -s {ENGINE_PATH}",
        f"SHA=$(sha256sum {ENGINE_PATH} | cut -d' ' -f1)",
        cli.upload(ENGINE_PATH, job.engine_object, "SHA"),
        'echo "uploaded engine sha256=$SHA"',
    ]


def _build_container(job: EngineJob, builder: BuilderRef) -> dict[str, Any]:
    """``trtexec`` in the NGC TensorRT image of the job's release, on the same GPU (or MIG slice) Triton
    requests: an engine is tied to what it was built on."""
    gpu = {k: str(int(v)) for k, v in (builder.resources or {"nvidia.com/gpu": 1}).items()}
    return {
        "name": "build",
        "image": versions.tensorrt_image(job.ngc_release),
        "imagePullPolicy": "IfNotPresent",
        "command": trtexec_args(job),
        "env": [{"name": "HOME", "value": POD_TMP}],
        "volumeMounts": _work_mounts(),
        "resources": {
            "requests": {"cpu": "2", "memory": "8Gi", **gpu},
            "limits": {"cpu": "8", "memory": "32Gi", **gpu},
        },
        "securityContext": _container_security(),
    }


def _job_labels(job: EngineJob) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "trt-engine-build",
        "app.kubernetes.io/part-of": "triton-platform",
        "app.kubernetes.io/managed-by": "triton-platform-publisher",
        "triton-platform/model": _slug(job.model),
        "triton-platform/engine-key": job.key[:40],
    }


def _pod_labels(job: EngineJob, store_ref: StoreRef, builder: BuilderRef, creds: _Credentials) -> dict[str, str]:
    labels = {**builder.pod_labels, **_job_labels(job)}
    if store_ref.kind == "azure" and not creds.static:
        labels["azure.workload.identity/use"] = "true"  # AKS webhook injects the token
    return labels


def _pod_spec(job: EngineJob, store_ref: StoreRef, builder: BuilderRef) -> dict[str, Any]:
    """The build pod: fetch (init), build (init), upload, as the builder ServiceAccount on the job's GPUs."""
    selector = architecture_selector(job, builder.node_selector, builder.compute_capability_selectors or None)
    creds = _credentials(job, store_ref, builder)
    endpoint = builder.in_cluster_endpoint_url or store_ref.cluster_endpoint_url or store_ref.endpoint_url
    cli = _Cli(store_ref, endpoint_url=endpoint, static_credentials=creds.static)
    if job.spec.precision == "int8" and not job.calibration_object:
        raise BuildError(
            "precision 'int8' needs the calibration cache in the bucket (job.calibration_object)",
            model=job.model,
            key="models[].calibrationCache",
        )
    spec: dict[str, Any] = {
        "serviceAccountName": builder.service_account,
        # The Job needs no Kubernetes API; cloud identity webhooks project their own tokens.
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "nodeSelector": selector,
        "tolerations": [dict(t) for t in builder.tolerations],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [_cli_container("fetch", cli, creds, _fetch_lines(cli, job)), _build_container(job, builder)],
        "containers": [_cli_container("upload", cli, creds, _upload_lines(cli, job))],
        "volumes": [{"name": "work", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}, *creds.volumes],
    }
    if builder.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in builder.image_pull_secrets]
    return {"metadata": {"labels": _pod_labels(job, store_ref, builder, creds)}, "spec": spec}


def job_manifest(job: EngineJob, store_ref: StoreRef, builder: BuilderRef) -> dict[str, Any]:
    """The batch/v1 Job that builds ``job``'s engine on the GPU pool ``builder`` names and uploads it (pure).

    The pod runs on ``builder.node_selector`` narrowed to GPUs of ``job.compute_capability``
    (:func:`architecture_selector`).

    The endpoint a pod uses is ``builder.in_cluster_endpoint_url``, else ``store_ref.cluster_endpoint_url``,
    else ``store_ref.endpoint_url`` (MinIO is ``http://127.0.0.1:<port>`` from the host but a
    Service name from a pod). Credentials, by precedence: ``builder.credentials_secret`` names a Secret
    in ``builder.namespace`` whose keys are the CLI's own variables (``AWS_ACCESS_KEY_ID`` and
    ``AWS_SECRET_ACCESS_KEY``, ``AZURE_STORAGE_CONNECTION_STRING``...), loaded with ``envFrom``;
    else a ``kubernetes-secret`` store credential (MinIO's root Secret) is referenced key by key;
    else the ServiceAccount's cloud identity is used (keyless). Never a secret value.
    """
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(job.model, job.key),
            "namespace": builder.namespace,
            "labels": _job_labels(job),
            "annotations": {
                "triton-platform/engine-object": job.engine_object,
                "triton-platform/onnx-object": job.onnx_object,
                "triton-platform/tensorrt": job.tensorrt_version,
                "triton-platform/compute-capability": job.compute_capability,
            },
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": job.timeout_seconds,
            "ttlSecondsAfterFinished": TTL_SECONDS_AFTER_FINISHED,
            "template": _pod_spec(job, store_ref, builder),
        },
    }


def _is_status(exc: BaseException, code: int) -> bool:
    return getattr(exc, "status", None) == code


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


class KubernetesJobBuilder:
    """EngineBuilder that runs :func:`job_manifest` as a Job, as ``ref`` describes it, and waits for it.

    ``batch_api`` / ``core_api`` (kubernetes ``BatchV1Api`` / ``CoreV1Api``) are created from
    ``ref.kubeconfig_path`` inside :meth:`build` unless given (tests pass fakes); nothing here
    talks to a cluster at construction time, so the builder pickles cleanly.
    """

    def __init__(
        self,
        ref: BuilderRef,
        *,
        batch_api: Any = None,
        core_api: Any = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if ref.kind != "kubernetes" or not ref.kubeconfig_path:
            raise ValueError("KubernetesJobBuilder needs a BuilderRef of kind 'kubernetes' with a kubeconfig_path")
        self.ref = ref
        self._batch = batch_api
        self._core = core_api
        self._clock = clock
        self._sleep = sleep

    @property
    def namespace(self) -> str:
        return self.ref.namespace

    # --- EngineBuilder ---------------------------------------------------------------------

    def build(self, job: EngineJob, store: ObjectStore, progress: Progress) -> None:
        if store.stat(job.engine_object) is not None:
            progress.note(f"{job.model}: engine sm{job.compute_capability} {job.key[:10]} already built, skipping")
            return
        # Refuse an architecture no pool provides, or inputs trtexec cannot name, before uploading anything.
        architecture_selector(job, self.ref.node_selector, self.ref.compute_capability_selectors or None)
        trtexec_args(job)
        self._ensure_input(store, job, job.onnx_object, job.onnx_path, "ONNX model", progress)
        if job.calibration_object:
            self._ensure_input(store, job, job.calibration_object, job.calibration_path, "calibration cache", progress)
        manifest = job_manifest(job, store.ref, self.ref)
        name = manifest["metadata"]["name"]
        batch, core = self._apis()
        task = progress.task(f"build {job.model} engine sm{job.compute_capability} (Job {self.namespace}/{name})")
        try:
            self._create(batch, manifest, name, job)
            self._wait(batch, core, name, job, progress)
            info = store.stat(job.engine_object)
            if info is None:
                raise BuildError(
                    f"Job {self.namespace}/{name} succeeded but {job.engine_object!r} is not in the bucket",
                    model=job.model,
                    key="engine_object",
                )
            task.advance(info.size)
        finally:
            task.finish()
            self._delete(batch, name)

    # --- steps -------------------------------------------------------------------------------

    def _apis(self) -> tuple[Any, Any]:
        if self._batch is None or self._core is None:
            from kubernetes import client, config

            api_client = config.new_client_from_config(config_file=self.ref.kubeconfig_path)
            self._batch = self._batch or client.BatchV1Api(api_client)
            self._core = self._core or client.CoreV1Api(api_client)
        return self._batch, self._core

    def _ensure_input(
        self, store: ObjectStore, job: EngineJob, key: str, local: str | None, what: str, progress: Progress
    ) -> None:
        if store.stat(key) is not None:
            return
        if not local:
            raise StoreError(
                f"the {what} {key!r} is not in the bucket and no local copy was given to upload",
                model=job.model,
                key="onnx_object" if what == "ONNX model" else "calibration_object",
                bucket=store.bucket,
            )
        store.upload_file(key, Path(local), sha256=file_sha256(local, model=job.model), progress=progress)

    def _create(self, batch: Any, manifest: dict[str, Any], name: str, job: EngineJob) -> None:
        try:
            batch.create_namespaced_job(namespace=self.namespace, body=manifest)
            return
        except Exception as exc:
            if not _is_status(exc, 409):
                raise BuildError(
                    f"cannot create Job {self.namespace}/{name}: {_api_reason(exc)}", model=job.model
                ) from None
        # Same engine key: a Job from an earlier, interrupted run. Adopt it while it runs;
        # replace a finished one (the engine is not in the bucket, or we would not be here).
        existing = batch.read_namespaced_job_status(name=name, namespace=self.namespace)
        if _job_state(existing) in ("running", "pending"):
            return
        self._delete(batch, name)
        deadline = self._clock() + 120
        while True:
            try:
                batch.create_namespaced_job(namespace=self.namespace, body=manifest)
                return
            except Exception as exc:
                if not _is_status(exc, 409) or self._clock() > deadline:
                    raise BuildError(
                        f"cannot replace finished Job {self.namespace}/{name}: {_api_reason(exc)}", model=job.model
                    ) from None
            self._sleep(max(self.ref.poll_seconds, 1.0))

    def _wait(self, batch: Any, core: Any, name: str, job: EngineJob, progress: Progress) -> None:
        started = self._clock()
        deadline = started + job.timeout_seconds + DEADLINE_GRACE_SECONDS
        last_phase = ""
        while True:
            status = batch.read_namespaced_job_status(name=name, namespace=self.namespace)
            state = _job_state(status)
            if state == "succeeded":
                progress.note(f"{job.model}: Job {name} succeeded in {self._clock() - started:.0f} s")
                return
            if state == "failed":
                reason = _failure_reason(status)
                container, logs = self._failed_logs(core, name)
                where = f" in container {container!r}" if container else ""
                raise BuildError(
                    f"engine build Job {self.namespace}/{name} failed{where}: {reason}",
                    model=job.model,
                    log_tail=logs,
                )
            if self._clock() > deadline:
                container, logs = self._failed_logs(core, name)
                raise BuildError(
                    f"engine build Job {self.namespace}/{name} did not finish within {job.timeout_seconds} s "
                    "(raise publisher.buildTimeoutSeconds, or check that the GPU pool can schedule it)",
                    model=job.model,
                    key="publisher.buildTimeoutSeconds",
                    log_tail=logs,
                )
            phase = self._pod_phase(core, name)
            if phase and phase != last_phase:
                progress.note(f"{job.model}: Job {name}: {phase} ({self._clock() - started:.0f} s)")
                last_phase = phase
            self._sleep(self.ref.poll_seconds)

    def _pods(self, core: Any, name: str) -> list[Any]:
        try:
            pods = core.list_namespaced_pod(namespace=self.namespace, label_selector=f"job-name={name}")
        except Exception:
            return []
        return list(pods.items or [])

    def _pod_phase(self, core: Any, name: str) -> str:
        pods = self._pods(core, name)
        if not pods:
            return "waiting for a pod"
        pod = pods[-1]
        for cs in (pod.status.init_container_statuses or []) + (pod.status.container_statuses or []):
            if cs.state and cs.state.running:
                return f"{cs.name} running"
            if cs.state and cs.state.waiting and cs.state.waiting.reason:
                return f"{cs.name} {cs.state.waiting.reason}"
        return str(pod.status.phase or "")

    def _failed_logs(self, core: Any, name: str) -> tuple[str | None, str]:
        """The failing (or last started) container of the Job's pod and the tail of its log."""
        pods = self._pods(core, name)
        if not pods:
            return None, "(no pod was created; see `kubectl describe job` for scheduling or quota errors)"
        pod = pods[-1]
        statuses = (pod.status.init_container_statuses or []) + (pod.status.container_statuses or [])
        chosen = None
        for cs in statuses:
            term = cs.state.terminated if cs.state else None
            if term is not None and term.exit_code not in (0, None):
                chosen = cs.name
                break
            if cs.state and (cs.state.running or cs.state.terminated):
                chosen = cs.name
        if chosen is None:
            waiting = [f"{cs.name}: {cs.state.waiting.reason}" for cs in statuses if cs.state and cs.state.waiting]
            return None, "; ".join(waiting) or f"pod {pod.metadata.name} is {pod.status.phase}"
        try:
            text = core.read_namespaced_pod_log(
                name=pod.metadata.name, namespace=self.namespace, container=chosen, tail_lines=LOG_TAIL_LINES
            )
        except Exception as exc:
            return chosen, f"(could not read the log: {_api_reason(exc)})"
        return chosen, _tail(str(text or ""))

    def _delete(self, batch: Any, name: str) -> None:
        # Best effort: ttlSecondsAfterFinished removes a Job left behind, and a failed delete
        # must never mask the build's own outcome.
        with contextlib.suppress(Exception):
            batch.delete_namespaced_job(name=name, namespace=self.namespace, propagation_policy="Background")


def _job_state(job: Any) -> str:
    status = getattr(job, "status", None)
    if status is None:
        return "pending"
    for cond in status.conditions or []:
        if cond.status == "True" and cond.type in ("Complete", "SuccessCriteriaMet"):
            return "succeeded"
        if cond.status == "True" and cond.type in ("Failed", "FailureTarget"):
            return "failed"
    if (status.succeeded or 0) >= 1:
        return "succeeded"
    if (status.failed or 0) >= 1:
        return "failed"
    return "running" if (status.active or 0) >= 1 else "pending"


def _failure_reason(job: Any) -> str:
    for cond in job.status.conditions or []:
        if cond.type in ("Failed", "FailureTarget") and cond.status == "True":
            if cond.reason == "DeadlineExceeded":
                return f"timed out (activeDeadlineSeconds, {cond.message or 'deadline exceeded'})"
            return f"{cond.reason or 'Failed'}: {cond.message or ''}".rstrip(": ")
    return "the pod failed"


def _api_reason(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None)
    if status is not None:
        return f"HTTP {status} {reason or ''}".strip()
    return f"{type(exc).__name__}: {exc}"
