"""The ModelPublisher component: publishes every configured model into the bucket Triton reads.

One ModelVersion dynamic resource per model (``<name>-<model>``). The source fingerprint is
computed here, in the program, through the persistent hash cache, so a `pulumi preview` with
nothing changed costs a stat per file and the provider's diff compares two strings. The
Triton release depends on this component, so Triton starts only after the models are there.

``retain_on_delete`` (the stack's ``modelRepository.retainOnDelete``) sets Pulumi's
``retainOnDelete`` resource option on every ModelVersion: the engine then drops a deleted or
replaced ModelVersion from the state without calling its provider's delete, so `pulumi destroy`
(or removing a model from the config) leaves every published file in the bucket. Off, delete
removes exactly what that ModelVersion published (see ``pipeline.remove``).
"""

from __future__ import annotations

import functools
from typing import Any

import pulumi
from pydantic import model_validator

from components.providers.model_version import ModelVersion, ModelVersionArgs, PublishTarget
from triton_platform.catalog.versions import NGC_RELEASES
from triton_platform.publisher.errors import PublisherError
from triton_platform.publisher.python_imports import python_import_warnings
from triton_platform.publisher.sources import source_fingerprint
from triton_platform.publisher.spec import ModelSpec


class ModelPublisherArgs(PublishTarget):
    """What to publish where; the store says where credentials come from, never what they are."""

    models: list[ModelSpec]
    # modelRepository.retainOnDelete: keep published models when Pulumi deletes their resources.
    # Safe default: nothing published is ever removed unless the stack says so.
    retain_on_delete: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> ModelPublisherArgs:
        names = [m.name for m in self.models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"models: duplicate model names {duplicates} (each name is one directory in the bucket)")
        release = NGC_RELEASES[self.ngc_release]  # known: PublishTarget checked it
        if self.tensorrt_version is not None and self.tensorrt_version != release.tensorrt:
            raise ValueError(
                f"tensorrt_version {self.tensorrt_version!r} is not the TensorRT {release.tensorrt} of NGC release "
                f"{self.ngc_release} (valid example: {release.tensorrt!r})"
            )
        engines = [m.name for m in self.models if m.format == "tensorrt"]
        if engines and not self.compute_capabilities:
            raise ValueError(
                f"models {engines} have format 'tensorrt' but compute_capabilities is empty; engines are built per "
                "GPU architecture (valid example: ['8.0'])"
            )
        return self


def _remote_fingerprint(spec: ModelSpec, base_dir: str, store: Any) -> str:
    """A URI source's fingerprint. It runs in an apply, after __main__.py's entrypoint returned: a
    missing or unreadable source (the user's mistake) is raised as pulumi.RunError here, which
    Pulumi prints without a traceback."""
    try:
        return source_fingerprint(spec, base_dir, store)
    except PublisherError as err:
        raise pulumi.RunError(str(err)) from None


class ModelPublisher(pulumi.ComponentResource):
    """Publishes ``args.models``; ``versions`` maps each model to the version Triton serves."""

    versions: pulumi.Output[dict[str, int]]
    resources: list[ModelVersion]

    def __init__(self, name: str, args: ModelPublisherArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:publisher:ModelPublisher", name, None, opts)
        # Every ModelVersion publishes to the same target, with the TensorRT version resolved.
        target = {
            **args.target_fields(),
            "tensorrt_version": args.tensorrt_version or NGC_RELEASES[args.ngc_release].tensorrt,
        }
        # Children do not wait for their component's own depends_on (pulumi/pulumi#8721): hand it down, so no
        # ModelVersion starts before the namespace and builder ServiceAccount its Jobs use exist.
        waits_for = (opts.depends_on if opts else None) or []
        self.resources = []
        for spec in args.models:
            fingerprint: Any
            if "://" in spec.source:
                # Remote sources are listed through the store's credentials, once the store is known.
                fingerprint = pulumi.Output.from_input(args.store).apply(
                    functools.partial(_remote_fingerprint, spec, args.base_dir)
                )
            else:
                fingerprint = source_fingerprint(spec, args.base_dir)
                # A Python model importing what the Triton image lacks would not load: say so at preview.
                for warning in python_import_warnings(spec, args.base_dir):
                    pulumi.log.warn(warning, resource=self)
            resource = ModelVersion(
                f"{name}-{spec.name}",
                ModelVersionArgs(spec=spec, source_fingerprint=fingerprint, **target),
                # https://www.pulumi.com/docs/iac/concepts/resources/options/retainondelete/ : with it
                # "Pulumi will not call through to the resource provider's Delete method when deleting
                # or replacing the resource during pulumi up or pulumi destroy".
                pulumi.ResourceOptions(parent=self, depends_on=waits_for, retain_on_delete=args.retain_on_delete),
            )
            self.resources.append(resource)
        names = [spec.name for spec in args.models]
        self.versions = pulumi.Output.all(*[r.version for r in self.resources]).apply(
            lambda versions: {n: int(v) for n, v in zip(names, versions, strict=True) if v is not None}
        )
        self.register_outputs({"versions": self.versions})
