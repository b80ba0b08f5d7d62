"""TritonNamespace: Triton's namespace and what lives in it before Triton does.

The namespace (Pod Security ``restricted``: Triton runs non-root with every capability
dropped), the model-repository credentials Secret when a store needs one (SeaweedFS on kind, or static
cloud keys explicitly opted into), and the engine builder's ServiceAccount when TensorRT
engines are built by Jobs in the cluster. The model publisher and the Triton release both
depend on ``ready``, so a first deploy never races them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pydantic import Field

from components import kubernetes_objects
from components.base import ComponentArgs

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
CREDENTIALS_SECRET = "triton-model-repository"  # noqa: S105 (the Secret's name, not its value)


class BuilderServiceAccount(ComponentArgs):
    """The ServiceAccount the engine-build Jobs run as (bound to a keyless cloud identity)."""

    name: str = Field(pattern=DNS_LABEL)
    annotations: Mapping[str, pulumi.Output[str] | str] = Field(default_factory=dict)
    labels: Mapping[str, str] = Field(default_factory=dict)


class TritonNamespaceArgs(ComponentArgs):
    k8s_provider: pulumi.ProviderResource
    namespace: str = Field(pattern=DNS_LABEL)
    # Environment variables Triton reads its store credentials from; every value a secret Output.
    credentials_env: Mapping[str, pulumi.Output[str]] | None = None
    builder_service_account: BuilderServiceAccount | None = None


class TritonNamespace(pulumi.ComponentResource):
    """Namespace, credentials Secret (optional) and engine-builder ServiceAccount (optional)."""

    namespace: pulumi.Output[str]
    credentials_secret: pulumi.Output[str] | None
    builder_service_account: pulumi.Output[str] | None
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: TritonNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:serving:TritonNamespace", name, None, opts)
        # These objects were created at the stack's root before this component existed: the
        # alias keeps existing stacks from replacing them (a replaced namespace takes Triton with it).
        moved = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]
        child = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, aliases=moved)
        ns = kubernetes_objects.Namespace(
            f"{name}-namespace",
            metadata=kubernetes_objects.object_meta(
                name=args.namespace,
                labels={
                    "app.kubernetes.io/part-of": "triton-platform",
                    # https://kubernetes.io/docs/concepts/security/pod-security-admission/
                    "pod-security.kubernetes.io/enforce": "restricted",
                },
            ),
            opts=child,
        )
        self.namespace = ns.metadata["name"]
        self.ready = [ns]
        in_ns = pulumi.ResourceOptions(parent=self, provider=args.k8s_provider, depends_on=[ns], aliases=moved)

        self.credentials_secret = None
        if args.credentials_env:
            # Said secret again so no caller can hand over a plain value by mistake.
            credentials: dict[str, pulumi.Output[str]] = {
                key: pulumi.Output.secret(value) for key, value in args.credentials_env.items()
            }
            secret = kubernetes_objects.Secret(
                f"{name}-model-repository-credentials",
                metadata=kubernetes_objects.object_meta(name=CREDENTIALS_SECRET, namespace=self.namespace),
                string_data=credentials,
                type="Opaque",
                opts=pulumi.ResourceOptions.merge(
                    in_ns, pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])
                ),
            )
            self.credentials_secret = secret.metadata["name"]
            self.ready.append(secret)

        self.builder_service_account = None
        sa_spec = args.builder_service_account
        if sa_spec is not None:
            sa = kubernetes_objects.ServiceAccount(
                f"{name}-engine-builder-sa",
                metadata=kubernetes_objects.object_meta(
                    name=sa_spec.name,
                    namespace=self.namespace,
                    annotations=dict(sa_spec.annotations),
                    labels=dict(sa_spec.labels),
                ),
                automount_service_account_token=False,
                opts=in_ns,
            )
            self.builder_service_account = sa.metadata["name"]
            self.ready.append(sa)

        self.register_outputs({"namespace": self.namespace})
