"""GcsModelBucket: the Cloud Storage bucket that holds Triton's model repository on GCP.

Provisions one bucket with uniform bucket-level access (IAM only, no object ACLs: required
for the IAM Conditions that scope Triton to its prefix), public access prevention enforced,
object versioning with a lifecycle that cleans up old noncurrent versions, a soft-delete
window, Google-managed or customer-managed (CMEK) encryption, and ``retain_on_delete`` so
destroying the stack never deletes a user's models. GCS serves its APIs over TLS only for
authenticated access, so there is no "TLS-only" bucket policy to add (unlike S3).
"""

from __future__ import annotations

import re

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random
from pydantic import Field, field_validator, model_validator

from components.base import ComponentArgs
from triton_platform.clouds.gcp import bucket_name_issue


def generated_bucket_prefix(base: str) -> str:
    """``<base>-models`` trimmed so that ``<prefix>-<8 hex>`` stays within GCS's 63 characters."""
    clean = re.sub(r"[^a-z0-9-]", "-", base.lower()).strip("-") or "triton"
    return f"{clean[:45].rstrip('-')}-models"


def lifecycle_rules(*, noncurrent_days: int, noncurrent_kept: int) -> list[gcp.storage.BucketLifecycleRuleArgsDict]:
    """Delete noncurrent versions after ``noncurrent_days`` or beyond ``noncurrent_kept`` newer ones.

    Versioning keeps an overwritten config.pbtxt or model file recoverable for a while; the
    content-addressed engine cache never overwrites, so this only trims real history.
    """
    return [
        {
            "action": {"type": "Delete"},
            "condition": {"days_since_noncurrent_time": noncurrent_days, "with_state": "ARCHIVED"},
        },
        {
            "action": {"type": "Delete"},
            "condition": {"num_newer_versions": noncurrent_kept, "with_state": "ARCHIVED"},
        },
        # Resumable uploads a crashed publisher left behind.
        {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 1}},
    ]


class GcsModelBucketArgs(ComponentArgs):
    """Where and how the model bucket is created; ``provider`` is the gcp.Provider to use."""

    provider: pulumi.ProviderResource
    project: str = Field(min_length=6)
    # A GCS location: the cluster's region keeps reads local and egress-free.
    location: str = Field(min_length=2, examples=["us-central1"])
    # Exact bucket name; when None one is generated: <name_prefix>-models-<8 hex>.
    bucket_name: str | None = None
    name_prefix: str = "triton"
    retain_on_delete: bool = True
    noncurrent_version_days: int = Field(default=30, ge=1, le=3650)
    noncurrent_versions_kept: int = Field(default=3, ge=1, le=100)
    # GCS soft delete: 0 disables it, otherwise 7 to 90 days.
    soft_delete_days: int = Field(default=7, ge=0, le=90)
    # Customer-managed key (projects/.../cryptoKeys/...); None: Google-managed encryption.
    kms_key_name: str | None = Field(
        default=None, pattern=r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$"
    )
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("bucket_name")
    @classmethod
    def _valid_name(cls, v: str | None) -> str | None:
        if v is not None and (issue := bucket_name_issue(v)):
            raise ValueError(f"bucket name {v!r}: {issue} (e.g. 'acme-triton-models')")
        return v

    @model_validator(mode="after")
    def _soft_delete(self) -> GcsModelBucketArgs:
        if 0 < self.soft_delete_days < 7:
            raise ValueError(f"soft_delete_days must be 0 (off) or 7-90, got {self.soft_delete_days}")
        return self


class GcsModelBucket(pulumi.ComponentResource):
    """The model repository bucket."""

    bucket: gcp.storage.Bucket
    name: pulumi.Output[str]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: GcsModelBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:gcp:GcsModelBucket", name, None, opts)
        if args.bucket_name is not None:
            bucket_name: pulumi.Input[str] = args.bucket_name
        else:
            suffix = random.RandomId(f"{name}-suffix", byte_length=4, opts=pulumi.ResourceOptions(parent=self))
            bucket_name = pulumi.Output.concat(generated_bucket_prefix(args.name_prefix), "-", suffix.hex)

        encryption: gcp.storage.BucketEncryptionArgsDict | None = (
            {"default_kms_key_name": args.kms_key_name} if args.kms_key_name else None
        )
        self.bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            name=bucket_name,
            project=args.project,
            location=args.location.upper(),
            storage_class="STANDARD",
            # IAM only (no ACLs): the prefix-scoped IAM Conditions need it.
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            lifecycle_rules=lifecycle_rules(
                noncurrent_days=args.noncurrent_version_days, noncurrent_kept=args.noncurrent_versions_kept
            ),
            soft_delete_policy={"retention_duration_seconds": args.soft_delete_days * 86_400},
            # Never delete a bucket that still holds objects.
            force_destroy=False,
            labels={"app": "triton-platform", **args.labels},
            encryption=encryption,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, retain_on_delete=args.retain_on_delete),
        )
        self.name = self.bucket.name
        self.url = pulumi.Output.concat("gs://", self.bucket.name)
        self.register_outputs({"name": self.name, "url": self.url})
