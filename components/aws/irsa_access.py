"""IrsaModelAccess: least-privilege IAM roles that Kubernetes ServiceAccounts assume through IRSA.

Two roles, both federated to the cluster's IAM OIDC provider and bound to exactly one
ServiceAccount each (``<issuer>:sub`` and ``<issuer>:aud`` conditions):

- the reader, for Triton: HeadBucket, listing and reading ``<prefix>/`` (the calls Triton's S3
  filesystem makes), and under ``triton.rollout.strategy: canary`` the same on
  ``<cache>/releases/served/`` (every release's own repository, which canary pods read), every
  other action on the bucket denied;
- the writer, for the TensorRT engine builder: read the ONNX / calibration inputs in the cache,
  write engines under ``<cache_prefix>/engines/``, every other action on the bucket denied.

Static keys (an IAM user with the reader policy and an access key) exist only when
explicitly opted in; the secret key is a secret Output and goes nowhere else. The policy
documents are built by ``triton_platform.clouds.aws_iam`` and evaluated against each workload's real
S3 calls in tests/triton_platform/clouds/test_aws_iam.py.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.base import ComponentArgs
from triton_platform.clouds import aws_iam

PREFIX_PATTERN = aws_iam.PREFIX_PATTERN
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

# The documents live in triton_platform.clouds.aws_iam (plain, tested without Pulumi); these names
# stay importable from here for the EKS component.
STS_AUDIENCE = aws_iam.STS_AUDIENCE
issuer_host = aws_iam.issuer_host
web_identity_trust_policy = aws_iam.web_identity_trust_policy
reader_policy = aws_iam.reader_policy
writer_policy = aws_iam.builder_policy


class IrsaModelAccessArgs(ComponentArgs):
    """Who may read and write which prefix of the model bucket."""

    provider: pulumi.ProviderResource
    bucket_arn: pulumi.Output[str] | str
    prefix: str = Field(pattern=PREFIX_PATTERN)
    cache_prefix: str = Field(pattern=PREFIX_PATTERN)
    # Canary rollouts only: <cache>/releases/served, read (never written) by Triton like <prefix>.
    # None keeps the instant stacks' documents unchanged.
    release_locations_root: str | None = Field(default=None, pattern=PREFIX_PATTERN)
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

        root = args.release_locations_root
        reader_doc = bucket_arn.apply(lambda arn: json.dumps(reader_policy(arn, args.prefix, root)))
        reads = f"s3 prefix {args.prefix}/" if root is None else f"s3 prefixes {args.prefix}/ and {root}/"
        reader, reader_p = role(
            "reader",
            args.reader_service_account,
            reader_doc,
            f"Triton ({args.namespace}/{args.reader_service_account}) reads {reads}",
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
                policy=reader_doc,
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
