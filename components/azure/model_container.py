"""AzureModelContainer: the storage account and blob container Triton's model repository lives in.

Provisions a StorageV2 account locked down for a model repository (no public blob access,
HTTPS only, TLS 1.2+, infrastructure double encryption, Entra ID by default and shared keys
disabled unless static keys are explicitly opted in), blob versioning with soft delete for
blobs and containers, a lifecycle rule that expires old versions, and a private container.
Both the account and the container can be kept when the stack is destroyed.
"""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure
import pulumi_random as random
from pydantic import Field

from components.base import ComponentArgs
from triton_platform.clouds import azure as az


class AzureModelContainerArgs(ComponentArgs):
    provider: pulumi.ProviderResource  # azure-native provider, used by every Azure child
    resource_group_name: pulumi.Output[str] | str
    location: str = Field(min_length=2)
    container_name: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9](-?[a-z0-9])+$")
    # Readable base of the account name; a random suffix makes it globally unique.
    account_name_base: str = Field(min_length=1)
    # Shared keys (and so AZURE_STORAGE_KEY for Triton's as://) only when explicitly opted in.
    allow_shared_key_access: bool = False
    # Keep the account and the container (and every model in them) on `pulumi destroy`.
    retain_on_delete: bool = True
    # Zone-redundant by default: a model repository outlives a zone outage.
    sku: str = Field(default="Standard_ZRS", pattern=r"^(Standard|Premium)_(LRS|ZRS|GRS|RAGRS|GZRS|RAGZRS)$")
    soft_delete_days: int = Field(default=7, ge=1, le=365)
    noncurrent_version_days: int = Field(default=30, ge=1, le=3650)
    tags: dict[str, str] = Field(default_factory=dict)


class AzureModelContainer(pulumi.ComponentResource):
    """A hardened storage account with one private container for the model repository."""

    account: azure.storage.StorageAccount
    container: azure.storage.BlobContainer
    account_name: pulumi.Output[str]
    container_name: pulumi.Output[str]
    container_id: pulumi.Output[str]
    account_url: pulumi.Output[str]
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: AzureModelContainerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:azure:AzureModelContainer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        keep = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=args.retain_on_delete))

        suffix = random.RandomString(
            f"{name}-suffix",
            length=8,
            special=False,
            upper=False,
            numeric=True,
            lower=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.account = azure.storage.StorageAccount(
            f"{name}-account",
            resource_group_name=args.resource_group_name,
            account_name=suffix.result.apply(lambda s: az.storage_account_name(args.account_name_base, s)),
            location=args.location,
            kind="StorageV2",
            sku={"name": args.sku},
            access_tier=azure.storage.AccessTier.HOT,
            allow_blob_public_access=False,
            allow_shared_key_access=args.allow_shared_key_access,
            # The portal and tools use Entra ID unless told otherwise.
            default_to_o_auth_authentication=not args.allow_shared_key_access,
            allow_cross_tenant_replication=False,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            is_hns_enabled=False,
            encryption={
                "key_source": "Microsoft.Storage",
                "require_infrastructure_encryption": True,
                "services": {"blob": {"enabled": True, "key_type": "Account"}},
            },
            tags=args.tags,
            opts=keep,
        )
        self.account_name = self.account.name
        blob_service = azure.storage.BlobServiceProperties(
            f"{name}-blob-service",
            resource_group_name=args.resource_group_name,
            account_name=self.account.name,
            blob_services_name="default",
            # An overwritten or deleted model can be brought back.
            is_versioning_enabled=True,
            delete_retention_policy={"enabled": True, "days": args.soft_delete_days},
            container_delete_retention_policy={"enabled": True, "days": args.soft_delete_days},
            opts=child,
        )
        self.container = azure.storage.BlobContainer(
            f"{name}-container",
            resource_group_name=args.resource_group_name,
            account_name=self.account.name,
            container_name=args.container_name,
            public_access=azure.storage.PublicAccess.NONE,
            opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[blob_service])),
        )
        lifecycle = azure.storage.ManagementPolicy(
            f"{name}-lifecycle",
            resource_group_name=args.resource_group_name,
            account_name=self.account.name,
            management_policy_name="default",
            policy={
                "rules": [
                    {
                        "name": "expire-noncurrent-versions",
                        "type": "Lifecycle",
                        "enabled": True,
                        "definition": {
                            "filters": {"blob_types": ["blockBlob"], "prefix_match": [f"{args.container_name}/"]},
                            "actions": {
                                "version": {
                                    "delete": {"days_after_creation_greater_than": args.noncurrent_version_days}
                                }
                            },
                        },
                    }
                ]
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[blob_service])),
        )
        self.container_name = self.container.name
        # RBAC scope of the data roles: the container, never the account.
        self.container_id = self.container.id
        self.account_url = self.account.name.apply(az.account_url)
        self.ready = [self.container, blob_service, lifecycle]
        self.register_outputs(
            {
                "accountName": self.account_name,
                "containerName": self.container_name,
                "containerId": self.container_id,
                "accountUrl": self.account_url,
            }
        )
