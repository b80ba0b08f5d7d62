"""AzureWorkloadIdentity: keyless, least-privilege access of Triton and the engine builder to blobs.

Provisions one user-assigned managed identity per Kubernetes ServiceAccount (Triton's, and the
TensorRT engine builder's when Jobs build engines), each federated with the cluster's OIDC
issuer for exactly ``system:serviceaccount:<namespace>:<name>``, and data-plane role
assignments scoped to the model container and narrowed by ABAC conditions to a path: Triton
may read and list ``<prefix>/`` only (*Storage Blob Data Reader*; under ``triton.rollout.strategy:
canary`` also ``<cache>/releases/served/``, every release's own repository, which canary pods
mirror), the builder may read and write ``<cache_prefix>/`` only, through a custom role with
data actions and no management-plane action (``triton_platform.clouds.azure_rbac``: the built-in
Contributor role could
delete or rewrite the container through Azure Resource Manager, which no condition limits).
The identity running ``pulumi up`` gets *Storage Blob Data Contributor* on the container so the
publisher can upload with its own login.

Static keys: only when opted in, the account key is read (never created as a resource input)
and exposed as a secret Output; otherwise no key leaves Azure.
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure
import pulumi_command as command
from pydantic import Field

from components.base import ComponentArgs
from triton_platform.clouds import access, azure_rbac
from triton_platform.clouds import azure as az

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class AzureWorkloadIdentityArgs(ComponentArgs):
    provider: pulumi.ProviderResource  # azure-native provider, used by every Azure child
    resource_group_name: pulumi.Output[str] | str
    location: str = Field(min_length=2)
    # Prefix of the managed identities' names (e.g. the cluster name).
    name_prefix: str = Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_]{0,100}$")
    oidc_issuer_url: pulumi.Output[str] | str
    namespace: str = Field(pattern=DNS_LABEL)
    triton_service_account: str = Field(pattern=DNS_LABEL)
    builder_service_account: str = Field(pattern=DNS_LABEL)
    # Triton's identity: not needed when it reads with an opted-in static key.
    triton_enabled: bool = True
    # Whether engine-build Jobs run in the cluster (they need their own identity).
    builder_enabled: bool = True
    storage_account_name: pulumi.Output[str] | str
    container_name: str
    # The RBAC scope: the container's resource id.
    container_id: pulumi.Output[str] | str
    model_prefix: str
    cache_prefix: str
    # Canary rollouts only: <cache>/releases/served, which Triton (its mirror) reads as it reads
    # model_prefix. None keeps the instant stacks' condition unchanged.
    release_locations_root: str | None = None
    # Let the identity running `pulumi up` publish models (Contributor on the container).
    grant_deployer: bool = True
    static_keys: bool = False
    tags: dict[str, str] = Field(default_factory=dict)


class AzureWorkloadIdentity(pulumi.ComponentResource):
    """Managed identities + federated credentials + conditioned blob role assignments."""

    triton_client_id: pulumi.Output[str] | None
    triton_principal_id: pulumi.Output[str] | None
    builder_client_id: pulumi.Output[str] | None
    builder_principal_id: pulumi.Output[str] | None
    static_key: pulumi.Output[str] | None
    role_assignments: list[azure.authorization.RoleAssignment]
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: AzureWorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:azure:AzureWorkloadIdentity", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        client = azure.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=args.provider))
        self._subscription = client.subscription_id
        self._client = client
        self.role_assignments = []
        self.ready = []

        self.triton_client_id = None
        self.triton_principal_id = None
        if args.triton_enabled:
            triton = self._identity(f"{name}-triton", args.triton_service_account)
            self.triton_client_id = triton.client_id
            self.triton_principal_id = triton.principal_id
            # Triton (or its model-sync sidecar) reads and lists the served prefix only (and, for
            # canary rollouts, the releases' own locations).
            root = args.release_locations_root
            self._grant(
                f"{name}-triton-reader",
                triton.principal_id,
                self._builtin(az.STORAGE_BLOB_DATA_READER),
                az.blob_prefix_condition(
                    args.container_name, args.model_prefix, *([root] if root else []), write=False
                ),
                "ServicePrincipal",
                "Triton reads the model repository prefix" + (" and the release locations" if root else ""),
            )

        self.builder_client_id = None
        self.builder_principal_id = None
        if args.builder_enabled:
            builder = self._identity(f"{name}-builder", args.builder_service_account)
            self.builder_client_id = builder.client_id
            self.builder_principal_id = builder.principal_id
            # Engine builds read the uploaded ONNX and write engines: data actions only (a
            # custom role), confined by the condition to the cache prefix.
            role = self._builder_role(f"{name}-builder-role")
            propagated = self._role_propagated(f"{name}-builder-role", role)
            self._grant(
                f"{name}-builder-cache",
                builder.principal_id,
                role.id,
                az.blob_prefix_condition(args.container_name, args.cache_prefix, write=True),
                "ServicePrincipal",
                "The TensorRT engine builder reads and writes the engine cache",
                after=[propagated],
            )

        if args.grant_deployer:
            # The publisher runs where `pulumi up` runs, with the operator's own login.
            self._grant(
                f"{name}-deployer",
                client.object_id,
                self._builtin(az.STORAGE_BLOB_DATA_CONTRIBUTOR),
                None,
                # A person (az login) or a federated service principal (CI): from the login.
                client.client_id.apply(access.deployer_principal_type),
                "The identity running pulumi up publishes models",
            )

        self.static_key = None
        if args.static_keys:
            keys = azure.storage.list_storage_account_keys_output(
                account_name=args.storage_account_name,
                resource_group_name=args.resource_group_name,
                opts=pulumi.InvokeOutputOptions(provider=args.provider),
            )
            self.static_key = pulumi.Output.secret(keys.keys.apply(lambda ks: ks[0].value))

        self.register_outputs(
            {
                "tritonClientId": self.triton_client_id,
                "builderClientId": self.builder_client_id,
            }
        )

    def _identity(self, name: str, service_account: str) -> azure.managedidentity.UserAssignedIdentity:
        a = self._args
        identity = azure.managedidentity.UserAssignedIdentity(
            name,
            resource_group_name=a.resource_group_name,
            resource_name_=f"{a.name_prefix}-{service_account}",
            location=a.location,
            tags=a.tags,
            opts=self._child,
        )
        fic = azure.managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            resource_group_name=a.resource_group_name,
            resource_name_=identity.name,
            federated_identity_credential_resource_name=f"{a.namespace}-{service_account}",
            issuer=a.oidc_issuer_url,
            subject=f"system:serviceaccount:{a.namespace}:{service_account}",
            audiences=[az.WORKLOAD_IDENTITY_AUDIENCE],
            opts=self._child,
        )
        self.ready.append(fic)
        return identity

    def _builtin(self, role: str) -> pulumi.Output[str]:
        return self._subscription.apply(lambda s: az.role_definition_id(s, role))

    def _builder_role(self, name: str) -> azure.authorization.RoleDefinition:
        a = self._args
        spec = pulumi.Output.all(self._subscription, pulumi.Output.from_input(a.resource_group_name)).apply(
            lambda v: azure_rbac.engine_builder_role(v[0], v[1], a.container_name)
        )
        permissions = azure_rbac.engine_builder_permissions()
        role = azure.authorization.RoleDefinition(
            name,
            role_definition_id=spec.apply(lambda r: r["role_definition_id"]),
            scope=spec.apply(lambda r: r["scope"]),
            role_name=spec.apply(lambda r: r["role_name"]),
            description=spec.apply(lambda r: r["description"]),
            role_type=azure_rbac.CUSTOM_ROLE,
            permissions=[azure.authorization.PermissionArgs(**permissions)],
            assignable_scopes=spec.apply(lambda r: r["assignable_scopes"]),
            opts=self._child,
        )
        self.ready.append(role)
        return role

    def _role_propagated(self, name: str, role: azure.authorization.RoleDefinition) -> command.local.Command:
        """Wait until Azure Resource Manager serves a freshly created custom role, before assigning it.

        A role definition replicates for a while after it is written; an assignment made meanwhile
        fails with RoleDefinitionDoesNotExist ("it can take several minutes for changes to
        propagate", Azure RBAC troubleshooting). azure-native has no retry option and pulumi_time
        is not a dependency, so a local command polls the definition (``az role definition list
        --name <guid> --scope <scope>``, the Azure CLI that signed in) up to 10 minutes, then lets
        the assignment go. It runs again only when the role is replaced (``triggers``).
        """
        script = (
            'for i in $(seq 60); do [ "$(az role definition list --name "$ROLE" --scope "$SCOPE" --query "length(@)" '
            '-o tsv 2>/dev/null)" = "1" ] && exit 0; sleep 10; done; '
            'echo "custom role $ROLE not visible after 10 minutes" >&2; exit 1'
        )
        return command.local.Command(
            f"{name}-propagated",
            create=script,
            environment={"ROLE": role.name, "SCOPE": self._args.container_id},
            triggers=[role.id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role]),
        )

    def _grant(
        self,
        name: str,
        principal_id: pulumi.Input[str],
        role_definition_id: pulumi.Input[str],
        condition: str | None,
        principal_type: pulumi.Input[str] | None,
        description: str,
        after: list[pulumi.Resource] | None = None,
    ) -> None:
        extra: dict[str, pulumi.Input[str]] = {}
        if condition is not None:
            extra = {"condition": condition, "condition_version": "2.0"}
        if principal_type is not None:
            # Set for fresh managed identities: Azure skips the directory lookup that fails
            # while the new principal is still replicating.
            extra["principal_type"] = principal_type
        assignment = azure.authorization.RoleAssignment(
            name,
            principal_id=principal_id,
            role_definition_id=role_definition_id,
            scope=self._args.container_id,
            description=description,
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=after or [])),
            **extra,
        )
        self.role_assignments.append(assignment)
        self.ready.append(assignment)
