"""What an engine build is, where it runs, and the interface every TensorRT engine builder implements.

An ``EngineJob`` names one engine by its content-addressed key; a builder makes sure the engine
exists at ``job.engine_object`` in the bucket and does nothing when it is already there.
``BuilderRef`` says which builder and, for a Kubernetes Job, where and how its pod runs: the stack
makes one and it travels whole to the Job manifest (through the ModelVersion and ReleasePromotion
props, parsed back on the way); ``triton_platform.publisher.builders.open_builder`` turns it into a builder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triton_platform.catalog.versions import NGC_RELEASES
from triton_platform.publisher.fingerprint import (
    calibration_object_key,
    engine_key,
    engine_object_key,
    onnx_object_key,
)
from triton_platform.publisher.spec import NAME_PATTERN, ModelSpec, ShapeRange

if TYPE_CHECKING:
    from triton_platform.publisher.onnx_graph import GraphSignature
    from triton_platform.publisher.progress import Progress
    from triton_platform.publisher.stores.base import ObjectStore


class EngineJob(BaseModel):
    """One TensorRT engine to build: which ONNX, with which options, for which GPU and TensorRT."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)  # built when a build is planned

    model: str = Field(pattern=NAME_PATTERN)
    key: str = Field(pattern=r"^[0-9a-f]{64}$")
    onnx_object: str = Field(min_length=1)
    engine_object: str = Field(min_length=1)
    spec: ModelSpec
    compute_capability: str = Field(pattern=r"^\d+\.\d+$", examples=["8.0"])
    tensorrt_version: str = Field(min_length=1, examples=["10.8.0"])
    ngc_release: str = Field(pattern=r"^\d{2}\.\d{2}$", examples=["25.01"])
    timeout_seconds: int = Field(default=3600, ge=60, le=86_400)
    # INT8 only: the calibration cache in the bucket (remote builders) ...
    calibration_object: str | None = None
    # ... and local copies the local builder may use instead of downloading.
    onnx_path: str | None = None
    calibration_path: str | None = None
    # The optimization profile to build with: onnx_graph.effective_shapes(signature, spec),
    # which adds batch-only ranges the spec leaves implicit. Empty means spec.shapes.
    profile: dict[str, ShapeRange] = Field(default_factory=dict)
    # The graph inputs without a dynamic dimension (static_input_shapes(signature)): an INT8
    # calibration profile must name every network input, static ones included (trtexec 10.8,
    # samples/common/sampleEngines.cpp: "Calibration profile for tensor X cannot be found!").
    static_inputs: dict[str, list[int]] = Field(default_factory=dict)

    @property
    def shapes(self) -> dict[str, ShapeRange]:
        """The optimization profile, sorted by input name."""
        return dict(sorted((self.profile or self.spec.shapes).items()))

    @property
    def calibration_shapes(self) -> dict[str, list[int]]:
        """INT8 with dynamic shapes: every network input at the shape it is calibrated with, by name.

        The profile's ``opt`` for dynamic inputs, the fixed shape for static ones: what trtexec's
        calibration profile holds (it copies the build profile; MIN and MAX are set to OPT) and
        what the local builder passes to ``IBuilderConfig.set_calibration_profile``. Empty when
        the engine is not INT8 or has no dynamic input (TensorRT calibrates at the graph's shapes).
        """
        shapes = self.shapes
        if self.spec.precision != "int8" or not shapes:
            return {}
        merged = {name: list(dims) for name, dims in self.static_inputs.items()}
        merged.update({name: list(rng.opt) for name, rng in shapes.items()})
        return dict(sorted(merged.items()))

    @model_validator(mode="after")
    def _consistent(self) -> EngineJob:
        release = NGC_RELEASES.get(self.ngc_release)
        if release is None:
            raise ValueError(f"ngc_release {self.ngc_release!r} is not one of {sorted(NGC_RELEASES)}")
        if release.tensorrt != self.tensorrt_version:
            raise ValueError(
                f"tensorrt_version {self.tensorrt_version!r} is not the TensorRT of NGC release "
                f"{self.ngc_release} ({release.tensorrt}); Triton {release.triton} could not load the engine"
            )
        if self.spec.name != self.model:
            raise ValueError(f"model {self.model!r} differs from spec.name {self.spec.name!r}")
        for name in self.spec.shapes:
            if self.profile and name not in self.profile:
                raise ValueError(f"profile lacks input {name!r} that spec.shapes configures")
        if self.spec.precision == "int8" and not (self.calibration_object or self.calibration_path):
            raise ValueError("precision 'int8' needs calibration_object or calibration_path")
        return self

    @classmethod
    def for_model(
        cls,
        spec: ModelSpec,
        *,
        onnx_sha256: str,
        cache_prefix: str,
        compute_capability: str,
        ngc_release: str,
        timeout_seconds: int = 3600,
        calibration_sha256: str | None = None,
        onnx_path: str | None = None,
        calibration_path: str | None = None,
        profile: Mapping[str, ShapeRange] | None = None,
        static_inputs: Mapping[str, list[int]] | None = None,
    ) -> EngineJob:
        """The job for ``spec``'s engine on one GPU architecture, keys and objects derived."""
        release = NGC_RELEASES.get(ngc_release)
        if release is None:
            raise ValueError(f"ngc_release {ngc_release!r} is not one of {sorted(NGC_RELEASES)}")
        key = engine_key(onnx_sha256, spec, release.tensorrt, compute_capability, calibration_sha256=calibration_sha256)
        return cls(
            model=spec.name,
            key=key,
            onnx_object=onnx_object_key(cache_prefix, onnx_sha256),
            engine_object=engine_object_key(cache_prefix, spec.name, key, compute_capability),
            spec=spec,
            compute_capability=compute_capability,
            tensorrt_version=release.tensorrt,
            ngc_release=ngc_release,
            timeout_seconds=timeout_seconds,
            calibration_object=(
                calibration_object_key(cache_prefix, calibration_sha256) if calibration_sha256 else None
            ),
            onnx_path=onnx_path,
            calibration_path=calibration_path,
            profile=dict(profile or {}),
            static_inputs=dict(static_inputs or {}),
        )


class BuilderRef(BaseModel):
    """Where TensorRT engines are built; no credentials (the Job uses its ServiceAccount or a named Secret).

    ``local``: the TensorRT Python API on the machine running ``pulumi up``. ``kubernetes``: a Job
    in ``namespace`` as ``service_account`` on the GPU pool ``node_selector`` / ``tolerations`` pick,
    requesting ``resources`` (the GPU or MIG slice Triton requests) with ``pod_labels`` (what a
    keyless identity needs, e.g. AKS Workload Identity).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["local", "kubernetes"] = "local"
    kubeconfig_path: str | None = Field(default=None, examples=[".state/kind-dev.kubeconfig"])
    namespace: str = Field(default="triton", examples=["triton"])
    service_account: str = Field(default="triton-engine-builder", examples=["triton-engine-builder"])
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default=[])
    timeout_seconds: int = Field(default=3600, ge=60, le=86_400, examples=[3600])
    poll_seconds: float = Field(default=10.0, gt=0, le=600)
    image_pull_secrets: list[str] = Field(default=[])
    # Name of a Secret (never its values) the Job reads bucket keys from: MinIO / static keys.
    credentials_secret: str | None = None
    # The bucket endpoint a pod uses, when neither the store's cluster_endpoint_url nor endpoint_url is it.
    in_cluster_endpoint_url: str | None = None
    # GPU placement of the build pod (MIG 'mixed' requests nvidia.com/mig-<profile>); empty: one nvidia.com/gpu.
    resources: dict[str, Any] = Field(default_factory=dict)
    pod_labels: dict[str, str] = Field(default_factory=dict)
    # Per compute capability a GPU pool provides, the node labels of such GPUs (added to
    # node_selector per engine); empty: GPU feature discovery's gpu.compute.major/minor.
    compute_capability_selectors: dict[str, dict[str, str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> BuilderRef:
        if self.kind == "kubernetes" and not self.kubeconfig_path:
            raise ValueError(
                "builder kind 'kubernetes' needs kubeconfig_path (valid example: '.state/kind-dev.kubeconfig')"
            )
        return self


def static_input_shapes(signature: GraphSignature) -> dict[str, list[int]]:
    """The graph inputs without a dynamic dimension, name -> shape (``EngineJob.static_inputs``)."""
    return {t.name: list(t.dims) for t in signature.inputs if not t.dynamic_axes}


@runtime_checkable
class EngineBuilder(Protocol):
    """Builds TensorRT engines; content-addressed, so an existing engine is never rebuilt."""

    def build(self, job: EngineJob, store: ObjectStore, progress: Progress) -> None:
        """Ensure the engine for ``job`` exists at ``job.engine_object`` (skip when it already does)."""
        ...
