"""IAM policy documents for the S3 model bucket: Triton's reader, the engine builder, IRSA trust.

Plain functions (no Pulumi), built from the S3 requests each workload really sends:

- Triton (triton-inference-server/core ``src/filesystem/implementations/s3.h``) sends
  ``HeadBucket`` before every directory check, ``ListObjectsV2`` with ``Prefix`` set to a
  directory path ending in ``/``, ``HeadObject`` and ``GetObject``; it never writes.
- The engine-build Job (``triton_platform/publisher/builders/kubernetes_job.py``) runs
  ``aws s3 cp`` twice: down, the content-addressed ONNX (and INT8 calibration cache) from the
  cache (``HeadObject`` then ``GetObject``, ranged above the CLI's 8 MiB multipart threshold);
  up, the engine into ``<cache>/engines/`` (``PutObject``, or ``CreateMultipartUpload`` /
  ``UploadPart`` / ``CompleteMultipartUpload`` and ``AbortMultipartUpload`` on failure).

IAM actions per S3 operation, from AWS's Service Authorization Reference, "Actions, resources,
and condition keys for Amazon S3" (docs.aws.amazon.com/service-authorization/latest/reference/
list_amazons3.html) and each operation's API page: HeadBucket and ListObjectsV2 authorise as
``s3:ListBucket`` on the bucket ARN, HeadObject and GetObject as ``s3:GetObject`` on the object
ARN, the multipart parts and completion as ``s3:PutObject``, AbortMultipartUpload as
``s3:AbortMultipartUpload``. ``s3:prefix`` is in the request context only when the request
carries a ``prefix`` parameter, so HeadBucket has none.

The publisher itself (``triton_platform/publisher/stores/s3.py``, boto3) runs where
``pulumi up`` runs, with the operator's own credentials: none of these roles.
"""

from __future__ import annotations

import re
from typing import Any

from triton_platform.publisher.fingerprint import calibration_object_key, engine_object_key, onnx_object_key

POLICY_VERSION = "2012-10-17"
STS_AUDIENCE = "sts.amazonaws.com"
PREFIX_PATTERN = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"

# What Triton's S3 filesystem needs (see the module docstring): nothing else, and no write.
READER_ACTIONS = ("s3:GetObject", "s3:ListBucket")
# What `aws s3 cp` down (ONNX, calibration cache) and up (engine) needs.
BUILDER_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload")
BUILDER_WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")


def _check_prefix(what: str, prefix: str) -> None:
    # Prefixes are spliced into ARNs and condition values, where '*', '?' and '${' mean something.
    if not re.fullmatch(PREFIX_PATTERN, prefix):
        raise ValueError(f"{what} {prefix!r} is not a plain S3 key prefix (valid example: 'models')")


def issuer_host(issuer_url: str) -> str:
    """``https://oidc.eks.<region>.amazonaws.com/id/X`` -> ``oidc.eks.<region>.amazonaws.com/id/X``.

    IAM condition keys of a web-identity provider are named after the issuer without scheme.
    """
    host = issuer_url.removeprefix("https://").removeprefix("http://").rstrip("/")
    if not host:
        raise ValueError(f"OIDC issuer URL {issuer_url!r} is empty")
    return host


def web_identity_trust_policy(
    oidc_provider_arn: str, issuer_url: str, namespace: str, service_account: str
) -> dict[str, Any]:
    """A trust policy that lets one ServiceAccount (and nothing else) assume the role."""
    host = issuer_host(issuer_url)
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "AssumeFromServiceAccount",
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{host}:aud": STS_AUDIENCE,
                    }
                },
            }
        ],
    }


def reader_policy(bucket_arn: str, prefix: str, locations_root: str | None = None) -> dict[str, Any]:
    """Triton's access: HeadBucket, list and read ``<prefix>/``; nothing else in the bucket.

    ``locations_root`` (``triton.rollout.strategy: canary`` only): the parent of every release's
    own model repository, ``<cache>/releases/served`` (``publisher.stores.base.release_locations_root``),
    which canary pods read instead of ``<prefix>/``; it gets exactly the prefix's access (list
    with ``s3:prefix`` under ``<root>/``, ``s3:GetObject`` on ``<root>/*``) and the rest of the
    cache stays denied. Without it the document is byte-for-byte the instant one.

    HeadBucket is ``s3:ListBucket`` without an ``s3:prefix`` key, so the listing condition is
    ``StringLikeIfExists`` (true when the key is absent). Residual, and unavoidable: a
    ListObjects without a prefix carries the same action and the same absent key, so it is
    allowed too and shows every key *name* in the bucket (never an object's content: reads
    stay on ``<prefix>/*``). Any listing that names another prefix is denied explicitly.
    """
    _check_prefix("prefix", prefix)
    folders = [prefix]
    if locations_root is not None:
        _check_prefix("locations_root", locations_root)
        folders.append(locations_root)
    # '*' matches zero characters too: Triton lists '<prefix>/' itself and '<prefix>/<dir>/'.
    # Several values of one condition key are ORed (IAM User Guide, "Creating a condition with
    # multiple keys or values"); StringNotLike holds only when none matches.
    listing = [f"{folder}/*" for folder in folders]
    reads = [f"{bucket_arn}/{folder}/*" for folder in folders]
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "HeadBucketAndListModelPrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLikeIfExists": {"s3:prefix": listing}},
            },
            {
                "Sid": "ReadModels",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": reads[0] if len(reads) == 1 else reads,
            },
            {
                # Explicit, so no other policy on the principal can widen listing: a request
                # that names a prefix (Null false) outside the served one.
                "Sid": "DenyListingOtherPrefixes",
                "Effect": "Deny",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"Null": {"s3:prefix": "false"}, "StringNotLike": {"s3:prefix": listing}},
            },
            {
                "Sid": "DenyEveryOtherActionOnTheBucket",
                "Effect": "Deny",
                "NotAction": list(READER_ACTIONS),
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
            },
        ],
    }


def builder_policy(bucket_arn: str, prefix: str, cache_prefix: str) -> dict[str, Any]:
    """The engine builder's access: read its inputs in the cache, write engines; nothing else.

    Resource patterns come from the publisher's own key functions (``fingerprint.py``), so a
    key layout change moves the policy with it. No ``s3:ListBucket``: ``aws s3 cp`` of one
    object sends HeadObject, not a listing (a missing input then reads 403, not 404, and the
    publisher uploads the inputs before it creates the Job).
    """
    _check_prefix("prefix", prefix)
    _check_prefix("cache_prefix", cache_prefix)
    inputs = [
        f"{bucket_arn}/{onnx_object_key(cache_prefix, '*')}",
        f"{bucket_arn}/{calibration_object_key(cache_prefix, '*')}",
    ]
    engines = f"{bucket_arn}/{engine_object_key(cache_prefix, '*', '*', '*')}"
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {"Sid": "ReadBuildInputs", "Effect": "Allow", "Action": "s3:GetObject", "Resource": inputs},
            {"Sid": "WriteEngines", "Effect": "Allow", "Action": list(BUILDER_WRITE_ACTIONS), "Resource": engines},
            {
                "Sid": "DenyEveryOtherActionOnTheBucket",
                "Effect": "Deny",
                "NotAction": list(BUILDER_ACTIONS),
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
            },
            {
                # Triton's prefix is only ever written by the publisher, config last.
                "Sid": "DenyWritesToServedModels",
                "Effect": "Deny",
                "Action": list(BUILDER_WRITE_ACTIONS),
                "Resource": f"{bucket_arn}/{prefix}/*",
            },
        ],
    }
