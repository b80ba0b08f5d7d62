"""The ModelVersion dynamic resource: one model published into the bucket Triton reads.

Create publishes version 1 (or the next free number), update publishes a new version and
retires the ones the model's versionPolicy no longer serves, delete removes exactly what this
resource published: its version directories, their manifests and its own pending attempts,
and config.pbtxt only while it is still the one this resource wrote; never another model,
another owner's version (published or in flight) or the shared engine cache. With
``modelRepository.retainOnDelete`` (the default) delete never runs: ModelPublisher sets
Pulumi's ``retainOnDelete`` option on every ModelVersion. The work happens in
:mod:`triton_platform.publisher.pipeline`; the provider only parses props, calls it and reports.

Rules for dynamic providers (dill pickles the provider into the state, its class by reference:
``components/__init__.py`` keeps the module names older states recorded importable): no clients
at import time (they are created inside the methods), no credentials among the inputs (the store
descriptor only says where credentials come from at run time), every output declared in the
props, and props parsed back into the typed models (components.providers.props) because protobuf
Structs turn every int into a float.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pulumi
import pulumi.dynamic
from pydantic import Field, ValidationError, field_validator

from components.base import ComponentArgs
from components.providers.props import (
    builder_props,
    check_parts,
    parse_store,
    required,
    store_arg,
    store_input,
    unknown,
    validation_failures,
    validation_message,
)
from triton_platform.catalog.versions import DEFAULT_NGC_RELEASE, NGC_RELEASES
from triton_platform.publisher.builders import BuilderRef
from triton_platform.publisher.errors import PublisherError
from triton_platform.publisher.spec import ModelSpec
from triton_platform.publisher.stores import StoreRef
from triton_platform.publisher.wire import restore_ints

if TYPE_CHECKING:
    from triton_platform.publisher.progress import Progress

# The publishing work (triton_platform.publisher.pipeline: publish, stores, builders, config.pbtxt,
# the ONNX checks) is imported in the provider's methods: they run in the provider host, and the
# Pulumi program that registers a ModelVersion needs only the resource and its args
# (bench/program_eval.py).

_T = TypeVar("_T")

# Bump when the provider's behaviour changes so every ModelVersion publishes again.
PROVIDER_VERSION = "1"

INPUT_KEYS = (
    "spec",
    "store",
    "builder",
    "ngc_release",
    "tensorrt_version",
    "compute_capabilities",
    "source_fingerprint",
    "base_dir",
    "provider_version",
    "instance_kind",
    "owner",
)
OUTPUT_KEYS = (
    "version",
    "files",
    "config_sha256",
    "engine_objects",
    "published_versions",
    "repository_path",
    "bytes_uploaded",
    "seconds",
    # TensorRT: what a release records so another stack can rebuild an engine (triton_platform.release.manifest).
    "onnx_sha256",
    "build_options",
)
# Where the model lives: a change means a new resource (published at the new place first).
_STORE_IDENTITY = ("kind", "bucket", "prefix", "endpoint_url", "account_url")
# Inputs that only matter when engines are built.
_ENGINE_INPUTS = ("ngc_release", "tensorrt_version", "compute_capabilities")
# Where this machine finds the store's credentials: differs between a teammate's checkout, a CI
# runner and the first machine, and never changes what is published (no new version for it).
_MACHINE_LOCAL: dict[str, Any] = {
    "cluster_endpoint_url": True,
    "credentials": {"kubeconfig_path": True, "kind_cluster": True},
}


def _inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: props[k] for k in INPUT_KEYS if k in props}


class ModelVersionProvider(pulumi.dynamic.ResourceProvider):
    """Publishes one model version per create/update; see the module docstring."""

    # Nothing secret is captured: the serialized provider can stay readable in the state.
    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        failures = required(news, ("spec", "store", "source_fingerprint", "provider_version"))
        if failures:
            return pulumi.dynamic.CheckResult(news, failures)
        failures = check_parts(news, {"spec": ModelSpec, "store": StoreRef, "builder": BuilderRef})
        if not failures and not unknown(_inputs(news)):
            from triton_platform.publisher import pipeline

            try:
                pipeline.parse_request(news)
            except ValidationError as err:
                failures = validation_failures(err)
        return pulumi.dynamic.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        if unknown(_inputs(news)):
            # A preview with values still to be computed: assume a new version.
            return pulumi.dynamic.DiffResult(changes=True, replaces=[], delete_before_replace=False)
        try:
            old_spec = ModelSpec.model_validate(restore_ints(olds["spec"]))
            new_spec = ModelSpec.model_validate(restore_ints(news["spec"]))
            old_store = parse_store(olds["store"])
            new_store = parse_store(news["store"])
        except (KeyError, TypeError, ValidationError):
            # State written by an older schema: publish again rather than guess.
            return pulumi.dynamic.DiffResult(changes=True, replaces=[], delete_before_replace=False)
        replaces: list[str] = []
        if old_spec.name != new_spec.name:
            replaces.append("spec")
        if any(getattr(old_store, f) != getattr(new_store, f) for f in _STORE_IDENTITY):
            replaces.append("store")
        changed = bool(replaces)
        # The source path may move (another checkout); its content is in source_fingerprint.
        changed |= old_spec.model_dump(exclude={"source"}) != new_spec.model_dump(exclude={"source"})
        changed |= old_store.model_dump(exclude=_MACHINE_LOCAL) != new_store.model_dump(exclude=_MACHINE_LOCAL)
        for key in ("source_fingerprint", "provider_version", "instance_kind"):
            changed |= restore_ints(olds.get(key)) != restore_ints(news.get(key))
        if new_spec.format == "tensorrt":
            for key in _ENGINE_INPUTS:
                changed |= restore_ints(olds.get(key)) != restore_ints(news.get(key))
        return pulumi.dynamic.DiffResult(
            changes=changed,
            replaces=replaces,
            stables=[],
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        from triton_platform.publisher import pipeline

        request = pipeline.parse_request(props)
        state = _run(request.spec.name, "create", lambda progress: pipeline.publish(request, progress=progress))
        ref = request.store
        resource_id = f"{ref.kind}://{ref.bucket}/{request.repository_path}"
        return pulumi.dynamic.CreateResult(resource_id, {**_inputs(props), **state.to_outputs()})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        from triton_platform.publisher import pipeline

        request = pipeline.parse_request(news)
        previous = pipeline.ModelVersionState.from_outputs(olds)
        state = _run(
            request.spec.name,
            "update",
            lambda progress: pipeline.publish(request, previous=previous, progress=progress),
        )
        return pulumi.dynamic.UpdateResult({**_inputs(news), **state.to_outputs()})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from triton_platform.publisher import pipeline

        store = parse_store(props["store"])
        model = str(props["spec"]["name"])
        state = pipeline.ModelVersionState.from_outputs(props)
        owner = str(props["owner"]) if props.get("owner") else None
        _run(model, "delete", lambda _progress: pipeline.remove(store, model, state, owner=owner))


def _run(model: str, operation: str, work: Callable[[Progress], _T]) -> _T:
    """Run ``work(progress)`` with progress on stderr; turn surprises into one clear error."""
    from triton_platform.publisher.progress import Progress

    progress = Progress()
    try:
        return work(progress)
    except PublisherError:
        raise
    except ValidationError as err:
        raise PublisherError(f"{operation}: invalid inputs: {validation_message(err)}", model=model) from None
    except Exception as exc:
        hint = "the previously published version keeps serving; fix the cause and run `pulumi up` again"
        raise PublisherError(f"{operation} failed ({type(exc).__name__}: {exc}); {hint}", model=model) from exc
    finally:
        # Plain mode already printed one "done" line per task; a terminal shows the bars.
        progress.close()


class PublishTarget(ComponentArgs):
    """Where and how models are published: the inputs a ModelPublisher and each ModelVersion share.

    Never credentials, only where to find them.
    """

    # Where the models go, or an Output of it (a generated bucket name).
    store: StoreRef | pulumi.Output[StoreRef]
    # Where engines are built: here (local TensorRT) unless the stack says otherwise.
    builder: BuilderRef = Field(default_factory=lambda: BuilderRef(kind="local"))
    ngc_release: str = Field(default=DEFAULT_NGC_RELEASE, examples=["25.01"])
    # Defaults to the TensorRT of ``ngc_release`` (what its Triton loads).
    tensorrt_version: str | None = Field(default=None, examples=["10.8.0"])
    compute_capabilities: list[str] = Field(default=[], examples=[["8.0"]])
    # Relative model sources are resolved against this directory (the Pulumi project root).
    base_dir: str = "."
    # Instance kind of models whose spec says instanceKind 'auto'.
    instance_kind: Literal["KIND_GPU", "KIND_CPU"] = "KIND_CPU"

    @field_validator("store", mode="before")
    @classmethod
    def _store(cls, value: Any) -> Any:
        return store_arg(value)

    @field_validator("ngc_release")
    @classmethod
    def _release(cls, value: str) -> str:
        if value not in NGC_RELEASES:
            raise ValueError(
                f"ngc_release {value!r} is not one of {', '.join(sorted(NGC_RELEASES))} (valid example: '25.01')"
            )
        return value

    def target_fields(self) -> dict[str, Any]:
        """These fields as keyword arguments for another PublishTarget, the values as they are (Outputs too)."""
        return {name: getattr(self, name) for name in PublishTarget.model_fields}


class ModelVersionArgs(PublishTarget):
    """Inputs of one ModelVersion: the model, its source fingerprint, and where it goes."""

    spec: ModelSpec
    # sha256 of the source file/tree, computed in the program with the cached fingerprint.
    source_fingerprint: Any
    # ``<project>/<stack>/<resource name>``, filled in by ModelVersion: marks this resource's
    # pending attempts so it never touches another stack's (see pipeline.choose_version).
    owner: str | None = None

    def props(self) -> dict[str, Any]:
        """The props the resource sends its provider (snake_case; the spec camelCase as in the stack config)."""
        return {
            "spec": self.spec.model_dump(by_alias=True, mode="json"),
            "store": store_input(self.store),
            "builder": builder_props(self.builder),
            "ngc_release": self.ngc_release,
            "tensorrt_version": self.tensorrt_version or NGC_RELEASES[self.ngc_release].tensorrt,
            "compute_capabilities": list(self.compute_capabilities),
            "source_fingerprint": self.source_fingerprint,
            "base_dir": self.base_dir,
            "provider_version": PROVIDER_VERSION,
            "instance_kind": self.instance_kind,
            "owner": self.owner,
        }


class ModelVersion(pulumi.dynamic.Resource, module="triton", name="ModelVersion"):
    """One model in the bucket; ``version`` is the newest version Triton serves after this update."""

    version: pulumi.Output[int]
    files: pulumi.Output[list[dict[str, Any]]]
    config_sha256: pulumi.Output[str]
    engine_objects: pulumi.Output[dict[str, str]]
    published_versions: pulumi.Output[list[int]]
    repository_path: pulumi.Output[str]
    bytes_uploaded: pulumi.Output[int]
    seconds: pulumi.Output[float]

    def __init__(self, name: str, args: ModelVersionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.owner is None:
            args = args.model_copy(update={"owner": f"{pulumi.get_project()}/{pulumi.get_stack()}/{name}"})
        props = args.props()
        # Declared so they exist as Outputs on the resource before the provider fills them.
        props.update(dict.fromkeys(OUTPUT_KEYS))
        super().__init__(ModelVersionProvider(), name, props, opts)
