"""GkeWorkloadIdentity: keyless, prefix-scoped access to the model bucket for Triton and the builder.

Provisions two Google service accounts (GSAs) and binds each to its Kubernetes
ServiceAccount (KSA) through GKE Workload Identity (``roles/iam.workloadIdentityUser`` for
``serviceAccount:<project>.svc.id.goog[<namespace>/<ksa>]``); the KSA carries the
``iam.gke.io/gcp-service-account`` annotation. No key exists unless static keys are opted in.

GCS IAM is granted per bucket, not per prefix, so each object role carries an IAM Condition:

- objects under the prefix: ``resource.name.startsWith("projects/_/buckets/<b>/objects/<prefix>/")``
- listing: object listing is checked on the *bucket* resource, so the same condition would
  deny it; ``api.getAttribute("storage.googleapis.com/objectListPrefix", "")`` is the
  ``prefix`` parameter of the list call, and must start with ``<prefix>/``. Triton always lists
  with a trailing slash (``<prefix>/``, ``<prefix>/<model>/`` ...).
- canary rollouts (``triton.rollout.strategy: canary``): canary pods read a release from its own
  repository under ``<cache>/releases/served/``, so Triton's condition admits that folder too,
  both terms again (objects, and listing with a prefix under it); the rest of the cache stays
  out. Instant stacks keep the one-folder condition, unchanged.

Triton also reads the bucket's metadata (its GCS client calls ``buckets.get`` before listing):
``roles/storage.bucketViewer`` grants that and no object access. So Triton gets
objectViewer on ``<prefix>/`` + bucketViewer; the engine builder objectUser on the cache
prefix (read the uploaded ONNX, write engines) + bucketViewer; neither can touch the rest.

Static keys (explicit opt-in only): an HMAC key of Triton's GSA, for Triton's S3 client
against GCS's XML API (``s3://https://storage.googleapis.com:443/<bucket>/<prefix>``). HMAC
requests are authorized by the same IAM bindings, conditions included.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_gcp as gcp
from pydantic import Field, ValidationInfo, field_validator

from components.base import ComponentArgs
from components.gcp.gke_cluster import service_account_id

WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
OBJECT_READ_ROLE = "roles/storage.objectViewer"
OBJECT_WRITE_ROLE = "roles/storage.objectUser"
BUCKET_METADATA_ROLE = "roles/storage.bucketViewer"
WORKLOAD_IDENTITY_ROLE = "roles/iam.workloadIdentityUser"
_PREFIX = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"


def prefix_condition(bucket: str, prefix: str, *more: str) -> str:
    """CEL that limits an object role on ``bucket`` to objects under ``prefix/`` (and each of
    ``more``) and listing them.

    One folder gives two terms joined by ``||``, each further folder two more: IAM Conditions
    allow up to 12 logical operators per expression (Google Cloud IAM docs, "Overview of IAM
    Conditions", limits), far above the two folders a canary stack needs.
    """
    terms: list[str] = []
    for p in (prefix, *more):
        if not re.fullmatch(_PREFIX, p):
            # Quotes or backslashes would change the expression, not just the prefix.
            raise ValueError(f"prefix {p!r} must match {_PREFIX} (e.g. 'models')")
        folder = p.rstrip("/") + "/"
        terms.append(f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{folder}")')
        terms.append(f'api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("{folder}")')
    return " || ".join(terms)


def iam_condition(bucket: str, prefix: str, *more: str) -> gcp.storage.BucketIAMMemberConditionArgsDict:
    """The IAM Condition of an object role: a title, a description and :func:`prefix_condition`."""
    folders = (prefix, *more)
    return {
        "title": "only " + " and ".join(f"{p}/" for p in folders),
        "description": "objects under " + " and ".join(f"gs://{bucket}/{p}/" for p in folders) + " and listing them",
        "expression": prefix_condition(bucket, prefix, *more),
    }


def workload_identity_member(workload_pool: str, namespace: str, ksa: str) -> str:
    """The IAM member of a Kubernetes ServiceAccount under GKE Workload Identity."""
    return f"serviceAccount:{workload_pool}[{namespace}/{ksa}]"


class GkeWorkloadIdentityArgs(ComponentArgs):
    """Who may do what on the model bucket; ``provider`` is the gcp.Provider to use."""

    provider: pulumi.ProviderResource
    project: str = Field(min_length=6)
    # <project>.svc.id.goog, from the cluster's output (it exists only once the cluster does).
    workload_pool: pulumi.Output[str] | str
    bucket: pulumi.Output[str] | str
    prefix: str = Field(pattern=_PREFIX)
    cache_prefix: str = Field(pattern=_PREFIX)
    # Canary rollouts only: <cache>/releases/served, which Triton reads as it reads <prefix>.
    # None keeps the instant stacks' condition unchanged.
    release_locations_root: str | None = Field(default=None, pattern=_PREFIX)
    namespace: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
    triton_service_account: str = "triton"
    builder_service_account: str = "triton-engine-builder"
    # Base for the GSA ids (<base>-triton, <base>-builder): the cluster name.
    account_base: str = Field(min_length=1)
    # Explicit opt-in: an HMAC key for Triton instead of Workload Identity.
    static_keys: bool = False

    @field_validator("cache_prefix")
    @classmethod
    def _apart(cls, v: str, info: ValidationInfo) -> str:
        served = info.data.get("prefix")
        if served and (v == served or v.startswith(served + "/") or served.startswith(v + "/")):
            raise ValueError(f"cache_prefix {v!r} must lie outside prefix {served!r} (e.g. '_cache')")
        return v


class GkeWorkloadIdentity(pulumi.ComponentResource):
    """GSAs, prefix-scoped bucket IAM and Workload Identity bindings (and an HMAC key if opted in)."""

    triton_email: pulumi.Output[str]
    builder_email: pulumi.Output[str]
    triton_annotations: dict[str, pulumi.Output[str]]
    builder_annotations: dict[str, pulumi.Output[str]]
    hmac_access_id: pulumi.Output[str] | None
    hmac_secret: pulumi.Output[str] | None
    # The IAM bindings: nothing should read the bucket before they exist.
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: GkeWorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:gcp:GkeWorkloadIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        bucket = pulumi.Output.from_input(args.bucket)
        pool = pulumi.Output.from_input(args.workload_pool)
        self.ready = []

        def gsa(part: str, what: str) -> gcp.serviceaccount.Account:
            return gcp.serviceaccount.Account(
                f"{name}-{part}-gsa",
                account_id=service_account_id(args.account_base, part),
                display_name=f"{what} ({args.account_base}, triton-platform)",
                project=args.project,
                opts=child,
            )

        def bucket_role(part: str, account: gcp.serviceaccount.Account, role: str, *prefixes: str) -> None:
            condition: pulumi.Output[gcp.storage.BucketIAMMemberConditionArgsDict] | None = None
            if prefixes:
                condition = bucket.apply(lambda b: iam_condition(b, *prefixes))
            self.ready.append(
                gcp.storage.BucketIAMMember(
                    f"{name}-{part}",
                    bucket=bucket,
                    role=role,
                    member=account.email.apply(lambda e: f"serviceAccount:{e}"),
                    condition=condition,
                    opts=child,
                )
            )

        def bind_ksa(part: str, account: gcp.serviceaccount.Account, ksa: str) -> None:
            self.ready.append(
                gcp.serviceaccount.IAMMember(
                    f"{name}-{part}-workload-identity",
                    service_account_id=account.name,
                    role=WORKLOAD_IDENTITY_ROLE,
                    member=pool.apply(lambda p: workload_identity_member(p, args.namespace, ksa)),
                    opts=child,
                )
            )

        triton = gsa("triton", "Triton Inference Server: reads the model repository")
        served = (args.prefix,) if args.release_locations_root is None else (args.prefix, args.release_locations_root)
        bucket_role("triton-objects", triton, OBJECT_READ_ROLE, *served)
        bucket_role("triton-bucket-metadata", triton, BUCKET_METADATA_ROLE)

        builder = gsa("builder", "TensorRT engine builder: reads and writes the engine cache")
        bucket_role("builder-objects", builder, OBJECT_WRITE_ROLE, args.cache_prefix)
        bucket_role("builder-bucket-metadata", builder, BUCKET_METADATA_ROLE)
        bind_ksa("builder", builder, args.builder_service_account)

        self.triton_email = triton.email
        self.builder_email = builder.email
        self.builder_annotations = {WORKLOAD_IDENTITY_ANNOTATION: builder.email}
        self.hmac_access_id = None
        self.hmac_secret = None
        if args.static_keys:
            # Opted in: Triton authenticates with this key, so its KSA gets no keyless binding.
            key = gcp.storage.HmacKey(
                f"{name}-triton-hmac",
                project=args.project,
                service_account_email=triton.email,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.provider, additional_secret_outputs=["accessId", "secret"]
                ),
            )
            self.hmac_access_id = pulumi.Output.secret(key.access_id)
            self.hmac_secret = pulumi.Output.secret(key.secret)
            self.triton_annotations = {}
        else:
            bind_ksa("triton", triton, args.triton_service_account)
            self.triton_annotations = {WORKLOAD_IDENTITY_ANNOTATION: triton.email}

        self.register_outputs({"tritonEmail": self.triton_email, "builderEmail": self.builder_email})
