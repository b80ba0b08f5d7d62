"""S3ModelBucket: the private, versioned, encrypted S3 bucket Triton's model repository lives in.

Protections, each its own resource as pulumi-aws 7 models them: versioning (a bad publish
can be rolled back), default encryption (SSE-KMS with the AWS-managed key and an S3 bucket
key, or SSE-S3), all four public-access blocks, BucketOwnerEnforced ownership (no ACLs), a
bucket policy that denies every request not made over TLS, and a lifecycle that expires
noncurrent versions and aborts abandoned multipart uploads. With ``retain_on_delete`` the
bucket and its protections outlive ``pulumi destroy``: a user's models are never lost with
the stack.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_random as random
from pydantic import Field

from components.base import ComponentArgs

BUCKET_NAME = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
# Room for "-" + 8 hex characters of the random suffix within S3's 63-character limit.
NAME_PREFIX = r"^[a-z0-9][a-z0-9-]{0,52}$"


def tls_only_policy(bucket_arn: str) -> dict[str, Any]:
    """Deny every S3 action on the bucket and its objects over plain HTTP."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def generated_bucket_name(name_prefix: str, suffix_hex: str) -> str:
    """``<prefix>-<hex>``: globally unique without asking the user for a name."""
    name = f"{name_prefix}-{suffix_hex}".lower()
    if len(name) > 63:
        raise ValueError(f"generated bucket name {name!r} exceeds S3's 63 characters; shorten the prefix")
    return name


class S3ModelBucketArgs(ComponentArgs):
    """The model bucket: a fixed name, or a generated ``<name_prefix>-<random hex>``."""

    provider: pulumi.ProviderResource
    bucket_name: str | None = Field(default=None, pattern=BUCKET_NAME)
    name_prefix: str = Field(default="triton-models", pattern=NAME_PREFIX)
    retain_on_delete: bool = True
    sse_algorithm: Literal["aws:kms", "AES256"] = "aws:kms"
    noncurrent_version_days: int = Field(default=30, ge=1, le=3650)
    # Keep this many noncurrent versions of each object regardless of age (quick rollback).
    keep_noncurrent_versions: int = Field(default=3, ge=0, le=100)
    abort_multipart_days: int = Field(default=7, ge=1, le=365)
    tags: dict[str, str] = Field(default_factory=dict)


class S3ModelBucket(pulumi.ComponentResource):
    """A private S3 bucket with versioning, encryption, TLS-only access and a lifecycle."""

    bucket: aws.s3.Bucket
    bucket_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: S3ModelBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:aws:S3ModelBucket", name, None, opts)
        # Protections follow the bucket: when it is retained, so are they (a kept bucket
        # must not turn public or plain-HTTP on destroy).
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, retain_on_delete=args.retain_on_delete)

        bucket_name: pulumi.Input[str]
        if args.bucket_name:
            bucket_name = args.bucket_name
        else:
            suffix = random.RandomId(f"{name}-suffix", byte_length=4, opts=pulumi.ResourceOptions(parent=self))
            bucket_name = suffix.hex.apply(lambda h: generated_bucket_name(args.name_prefix, h))

        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=bucket_name,
            # Destroying a retained bucket never happens; an unretained one may go with its objects.
            force_destroy=not args.retain_on_delete,
            tags=args.tags,
            opts=child,
        )
        self.bucket_name = self.bucket.bucket
        self.arn = self.bucket.arn

        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        public_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    # The AWS-managed aws/s3 key: readers need no KMS grants of their own.
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm=args.sse_algorithm
                    ),
                    bucket_key_enabled=args.sse_algorithm == "aws:kms",
                )
            ],
            opts=child,
        )
        policy = aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))),
            # S3 rejects concurrent bucket-level updates: put the policy after the public block.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[public_block])),
        )
        lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_version_days,
                        newer_noncurrent_versions=args.keep_noncurrent_versions or None,
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-multipart-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=args.abort_multipart_days
                    ),
                ),
            ],
            # Lifecycle rules on noncurrent versions need versioning configured first.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[versioning])),
        )
        self.ready = [ownership, public_block, versioning, encryption, policy, lifecycle]
        self.register_outputs({"bucketName": self.bucket_name, "arn": self.arn})
