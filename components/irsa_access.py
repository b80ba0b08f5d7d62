"""IrsaModelAccess: least-privilege IAM roles that Kubernetes ServiceAccounts assume through IRSA.

Two roles, both federated to the cluster's IAM OIDC provider and bound to exactly one
ServiceAccount each (``<issuer>:sub`` and ``<issuer>:aud`` conditions):

- the reader, for Triton: ``s3:GetObject`` on ``<bucket>/<prefix>/*`` and ``s3:ListBucket``
  limited to that prefix;
- the writer, for the TensorRT engine builder: read/write/delete on ``<cache_prefix>/*``, read
  on ``<prefix>/*`` (where published models and sources live).

Static keys (an IAM user with the reader policy and an access key) exist only when
explicitly opted in; the secret key is a secret Output and goes nowhere else. The policy
documents are built by plain functions, tested without Pulumi.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.base import ComponentArgs

STS_AUDIENCE = "sts.amazonaws.com"
PREFIX_PATTERN = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


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
        "Version": "2012-10-17",
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


def reader_policy(bucket_arn: str, prefix: str) -> dict[str, Any]:
    """Triton's access: list and read the served prefix, nothing else in the bucket."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListModelPrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*"]}},
            },
            {
                "Sid": "ReadModels",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{prefix}/*",
            },
        ],
    }


def writer_policy(bucket_arn: str, prefix: str, cache_prefix: str) -> dict[str, Any]:
    """The engine builder's access: read sources and models, write engines to the cache only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListModelAndCachePrefixes",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{cache_prefix}/*", f"{prefix}/*"]}},
            },
            {
                "Sid": "ReadModelsAndCache",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [f"{bucket_arn}/{cache_prefix}/*", f"{bucket_arn}/{prefix}/*"],
            },
            {
                "Sid": "WriteCache",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": f"{bucket_arn}/{cache_prefix}/*",
            },
        ],
    }


class IrsaModelAccessArgs(ComponentArgs):
    """Who may read and write which prefix of the model bucket."""

    provider: pulumi.ProviderResource
    bucket_arn: pulumi.Output[str] | str
    prefix: str = Field(pattern=PREFIX_PATTERN)
    cache_prefix: str = Field(pattern=PREFIX_PATTERN)
    oidc_provider_arn: pulumi.Output[str] | str
    oidc_issuer_url: pulumi.Output[str] | str
    namespace: str = Field(pattern=DNS_LABEL)
    reader_service_account: str = Field(default="triton", pattern=DNS_LABEL)
    writer_service_account: str = Field(default="triton-engine-builder", pattern=DNS_LABEL)
    # Explicit opt-in only: an IAM user with the reader policy and a long-lived access key.
    static_keys: bool = False
    tags: dict[str, str] = Field(default_factory=dict)


class IrsaModelAccess(pulumi.ComponentResource):
    """The reader and writer roles (and, only when opted in, a static key for the reader)."""

    reader_role_arn: pulumi.Output[str]
    writer_role_arn: pulumi.Output[str]
    access_key_id: pulumi.Output[str] | None
    secret_access_key: pulumi.Output[str] | None
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: IrsaModelAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:aws:IrsaModelAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        bucket_arn = pulumi.Output.from_input(args.bucket_arn)
        oidc = pulumi.Output.all(
            pulumi.Output.from_input(args.oidc_provider_arn), pulumi.Output.from_input(args.oidc_issuer_url)
        )

        def role(
            part: str, service_account: str, policy: pulumi.Output[str], description: str
        ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
            trust = oidc.apply(
                lambda o: json.dumps(web_identity_trust_policy(o[0], o[1], args.namespace, service_account))
            )
            r = aws.iam.Role(
                f"{name}-{part}",
                assume_role_policy=trust,
                description=description,
                max_session_duration=3600,
                tags=args.tags,
                opts=child,
            )
            p = aws.iam.RolePolicy(f"{name}-{part}-s3", role=r.id, policy=policy, opts=child)
            return r, p

        reader, reader_p = role(
            "reader",
            args.reader_service_account,
            bucket_arn.apply(lambda arn: json.dumps(reader_policy(arn, args.prefix))),
            f"Triton ({args.namespace}/{args.reader_service_account}) reads s3 prefix {args.prefix}/",
        )
        writer, writer_p = role(
            "writer",
            args.writer_service_account,
            bucket_arn.apply(lambda arn: json.dumps(writer_policy(arn, args.prefix, args.cache_prefix))),
            f"Engine builder ({args.namespace}/{args.writer_service_account}) writes s3 prefix {args.cache_prefix}/",
        )
        self.reader_role_arn = reader.arn
        self.writer_role_arn = writer.arn
        self.ready = [reader, reader_p, writer, writer_p]

        self.access_key_id = None
        self.secret_access_key = None
        if args.static_keys:
            user = aws.iam.User(f"{name}-static-reader", tags=args.tags, opts=child)
            user_p = aws.iam.UserPolicy(
                f"{name}-static-reader-s3",
                user=user.name,
                policy=bucket_arn.apply(lambda arn: json.dumps(reader_policy(arn, args.prefix))),
                opts=child,
            )
            key = aws.iam.AccessKey(
                f"{name}-static-reader-key",
                user=user.name,
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider, additional_secret_outputs=["secret"]),
            )
            # Both halves stay secret: the key id alone identifies a long-lived credential.
            self.access_key_id = pulumi.Output.secret(key.id)
            self.secret_access_key = pulumi.Output.secret(key.secret)
            self.ready += [user, user_p, key]

        self.register_outputs({"readerRoleArn": self.reader_role_arn, "writerRoleArn": self.writer_role_arn})
