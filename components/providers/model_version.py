"""The ModelVersion dynamic resource: one model published into the bucket Triton reads.

Create publishes version 1 (or the next free number), update publishes a new version and
retires the ones the model's versionPolicy no longer serves, delete removes exactly what this
resource published: its version directories, their manifests and its own pending attempts,
and config.pbtxt only while it is still the one this resource wrote; never another model,
another owner's version (published or in flight) or the shared engine cache. With
``modelRepository.retainOnDelete`` (the default) delete never runs: ModelPublisher sets
Pulumi's ``retainOnDelete`` option on every ModelVersion. The work happens in
:mod:`triton_platform.publisher.pipeline`; the provider only parses props, calls it and reports.

Rules for dynamic providers (dill pickles the provider into the state): no clients or heavy
modules at import time (they are created inside the methods), no credentials among the inputs
(the store descriptor only says where credentials come from at run time), every output
declared in the props, and props parsed back into the typed models because protobuf Structs
turn every int into a float.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pulumi
import pulumi.dynamic
from pydantic import BaseModel, Field, ValidationError, field_validator

from components.base import ComponentArgs
from triton_platform.catalog.versions import DEFAULT_NGC_RELEASE, NGC_RELEASES
from triton_platform.publisher.spec import ModelSpec

if TYPE_CHECKING:
    from triton_platform.publisher.progress import Progress

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


def _unknown(value: Any) -> bool:
    """True when a preview has not resolved ``value`` (or anything inside it) yet."""
    from pulumi.runtime import rpc

    if isinstance(value, str):
        return value == rpc.UNKNOWN
    if isinstance(value, Mapping):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_unknown(v) for v in value)
    return False


def _failures(prefix: str, err: ValidationError) -> list[pulumi.dynamic.CheckFailure]:
    failures = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        where = f"{prefix}.{loc}" if loc else prefix
        failures.append(pulumi.dynamic.CheckFailure(where, f"{where}: {e['msg']}"))
    return failures


def _inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: props[k] for k in INPUT_KEYS if k in props}


class ModelVersionProvider(pulumi.dynamic.ResourceProvider):
    """Publishes one model version per create/update; see the module docstring."""

    # Nothing secret is captured: the serialized provider can stay readable in the state.
    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        from triton_platform.publisher.pipeline import BuilderRef, parse_request, restore_ints
        from triton_platform.publisher.stores.base import StoreRef

        failures: list[pulumi.dynamic.CheckFailure] = []
        for key in ("spec", "store", "source_fingerprint", "provider_version"):
            if news.get(key) is None:
                failures.append(pulumi.dynamic.CheckFailure(key, f"{key} is required"))
        if failures:
            return pulumi.dynamic.CheckResult(news, failures)
        parts: tuple[tuple[str, type[BaseModel]], ...] = (
            ("spec", ModelSpec),
            ("store", StoreRef),
            ("builder", BuilderRef),
        )
        for key, model in parts:
            value = news.get(key)
            if value is None or _unknown(value):
                continue
            try:
                model.model_validate(restore_ints(value))
            except ValidationError as err:
                failures.extend(_failures(key, err))
        if not failures and not _unknown(_inputs(news)):
            try:
                parse_request(news)
            except ValidationError as err:
                for e in err.errors():
                    where = ".".join(str(p) for p in e["loc"]) or "inputs"
                    failures.append(pulumi.dynamic.CheckFailure(where, f"{where}: {e['msg']}"))
        return pulumi.dynamic.CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        from triton_platform.publisher.pipeline import restore_ints
        from triton_platform.publisher.stores.base import StoreRef

        if _unknown(_inputs(news)):
            # A preview with values still to be computed: assume a new version.
            return pulumi.dynamic.DiffResult(changes=True, replaces=[], delete_before_replace=False)
        try:
            old_spec = ModelSpec.model_validate(restore_ints(olds["spec"]))
            new_spec = ModelSpec.model_validate(restore_ints(news["spec"]))
            old_store = StoreRef.model_validate(restore_ints(olds["store"]))
            new_store = StoreRef.model_validate(restore_ints(news["store"]))
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
        from triton_platform.publisher.pipeline import parse_request, publish

        request = parse_request(props)
        state = _run(request.spec.name, "create", lambda progress: publish(request, progress=progress))
        ref = request.store
        resource_id = f"{ref.kind}://{ref.bucket}/{request.repository_path}"
        return pulumi.dynamic.CreateResult(resource_id, {**_inputs(props), **state.to_outputs()})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        from triton_platform.publisher.pipeline import ModelVersionState, parse_request, publish

        request = parse_request(news)
        previous = ModelVersionState.from_outputs(olds)
        state = _run(
            request.spec.name, "update", lambda progress: publish(request, previous=previous, progress=progress)
        )
        return pulumi.dynamic.UpdateResult({**_inputs(news), **state.to_outputs()})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from triton_platform.publisher.pipeline import ModelVersionState, remove, restore_ints
        from triton_platform.publisher.stores.base import StoreRef

        store = StoreRef.model_validate(restore_ints(props["store"]))
        model = str(props["spec"]["name"])
        state = ModelVersionState.from_outputs(props)
        owner = str(props["owner"]) if props.get("owner") else None
        _run(model, "delete", lambda _progress: remove(store, model, state, owner=owner))


def _run(model: str, operation: str, work: Callable[[Progress], _T]) -> _T:
    """Run ``work(progress)`` with progress on stderr; turn surprises into one clear error."""
    from triton_platform.publisher.errors import PublisherError
    from triton_platform.publisher.progress import Progress

    progress: Progress = Progress()
    try:
        return work(progress)
    except PublisherError:
        raise
    except ValidationError as err:
        raise PublisherError(f"{operation}: invalid inputs: {err}", model=model) from None
    except Exception as exc:
        hint = "the previously published version keeps serving; fix the cause and run `pulumi up` again"
        raise PublisherError(f"{operation} failed ({type(exc).__name__}: {exc}); {hint}", model=model) from exc
    finally:
        # Plain mode already printed one "done" line per task; a terminal shows the bars.
        progress.close()


def has_output(value: Any) -> bool:
    """True when ``value`` is, or holds, a Pulumi Output (known only once the program runs)."""
    if isinstance(value, pulumi.Output):
        return True
    if isinstance(value, Mapping):
        return any(has_output(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_output(v) for v in value)
    return False


def validate_store_input(value: Any) -> Any:
    """A StoreRef dict, validated now when fully known (else by the provider's check)."""
    if isinstance(value, pulumi.Output):
        return value
    if not isinstance(value, Mapping):
        raise ValueError("store must be a StoreRef dict or an Output of one (valid example: {kind: s3, bucket: b})")
    if not has_output(value):
        from triton_platform.publisher.stores.base import StoreRef

        StoreRef.model_validate(value)
    return dict(value)


def validate_builder_input(value: Mapping[str, Any]) -> dict[str, Any]:
    """A BuilderRef dict, validated now when fully known (a kubeconfig path may be an Output)."""
    if not has_output(value):
        from triton_platform.publisher.pipeline import BuilderRef

        BuilderRef.model_validate(value)
    return dict(value)


class PublishTarget(ComponentArgs):
    """Where and how models are published: the inputs a ModelPublisher and each ModelVersion share.

    Never credentials, only where to find them.
    """

    # A StoreRef as a dict (snake_case keys, see triton_platform.publisher.stores.base), or an
    # Output of one (a generated bucket name).
    store: Any
    # BuilderRef dict: {kind: local|kubernetes, kubeconfig_path, namespace, service_account,
    # node_selector, tolerations, timeout_seconds, ...}.
    builder: dict[str, Any] = Field(default_factory=lambda: {"kind": "local"})
    ngc_release: str = Field(default=DEFAULT_NGC_RELEASE, examples=["25.01"])
    # Defaults to the TensorRT of ``ngc_release`` (what its Triton loads).
    tensorrt_version: str | None = Field(default=None, examples=["10.8.0"])
    compute_capabilities: list[str] = Field(default_factory=list, examples=[["8.0"]])
    # Relative model sources are resolved against this directory (the Pulumi project root).
    base_dir: str = "."
    # Instance kind of models whose spec says instanceKind 'auto'.
    instance_kind: Literal["KIND_GPU", "KIND_CPU"] = "KIND_CPU"

    @field_validator("store")
    @classmethod
    def _store(cls, value: Any) -> Any:
        return validate_store_input(value)

    @field_validator("builder")
    @classmethod
    def _builder(cls, value: dict[str, Any]) -> dict[str, Any]:
        return validate_builder_input(value)

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
            "store": self.store,
            "builder": dict(self.builder),
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
