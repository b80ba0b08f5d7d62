"""AksCluster: an AKS cluster with a GPU agent pool, workload identity, its kubeconfig and provider.

Provisions the resource group (or uses an existing one), an optional VNet, the managed cluster
(system-assigned identity, OIDC issuer + workload identity for keyless storage access, Azure
CNI overlay with Cilium so the chart's NetworkPolicies are enforced, a System pool) and a
separate User agent pool for GPUs (tainted ``nvidia.com/gpu=present:NoSchedule``, MIG via
``gpuInstanceProfile``, autoscaled, optionally spot). Its node count belongs to the cluster
autoscaler after creation (Pulumi ignores ``count``); given a ``node_template``, the pool carries
the node-template tags the autoscaler reads to add its first node (``autoscaler_tags``).

Access: by default Entra ID authenticates and Azure RBAC authorizes every Kubernetes API call
(``aadProfile`` managed + ``enableAzureRBAC``), local accounts are off (``disableLocalAccounts``:
no static admin credential exists at all), and whoever runs ``pulumi up`` gets the built-in
role "Azure Kubernetes Service RBAC Cluster Admin" on this cluster only (``principalType`` from
its login), and ``admins`` / ``viewers`` get the Cluster User Role plus RBAC Cluster Admin / Reader
(``triton_platform.clouds.access``). A private cluster goes in ``vnet_subnet_id``. The kubeconfig is the
cluster user one (``listManagedClusterUserCredentials``, format ``exec``) converted the way
``kubelogin convert-kubeconfig -l azurecli`` does: it holds no credential and gets a token from
the Azure CLI login at each use. ``local_accounts=True`` (the escape hatch) keeps the old mode:
local accounts, Kubernetes RBAC only, a certificate kubeconfig. The API server can be narrowed
to authorized IP ranges or made private. The kubeconfig becomes the Kubernetes provider every
Kubernetes resource of the stack uses.

The constructor follows those sections (network, control plane, node pools, access), each a
method of its own; the System profile and the GPU pool share their scale-set settings
(``_scale_set_pool``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pulumi
import pulumi_azure_native as azure
import pulumi_kubernetes as k8s
import yaml
from pydantic import Field, model_validator

from components.base import ComponentArgs
from components.kubeconfig_file import kubeconfig_file
from triton_platform.catalog import gpu
from triton_platform.clouds import access
from triton_platform.clouds import azure as az
from triton_platform.config import entra_object_id, ipv4_cidr, is_open_to_internet, open_endpoint_warning
from triton_platform.values.autoscaling import NodeTemplate

POOL_NAME = r"^[a-z][a-z0-9]{0,11}$"  # AKS: Linux pool names, lowercase alphanumeric, <= 12
# Azure built-in roles for Kubernetes authorization with Azure RBAC (role definition ids from
# learn.microsoft.com/azure/role-based-access-control/built-in-roles, "Containers").
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"  # Azure Kubernetes Service RBAC Cluster Admin
AKS_RBAC_ADMIN = "3498e952-d568-435e-9b2c-8d77e338d7f7"  # Azure Kubernetes Service RBAC Admin
AKS_RBAC_WRITER = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"  # Azure Kubernetes Service RBAC Writer
AKS_RBAC_READER = "7f6c6a51-bcf8-42ba-9220-52d62157d7db"  # Azure Kubernetes Service RBAC Reader
# kubelogin (github.com/Azure/kubelogin, pkg/internal/converter/convert.go and
# pkg/internal/token/options.go): the exec command, get-token, the azurecli login mode.
KUBELOGIN = "kubelogin"
KUBELOGIN_LOGIN = "azurecli"
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


class AksSystemPool(ComponentArgs):
    """The System pool: cluster add-ons, the GPU operator's controller, monitoring."""

    name: str = Field(default="system", pattern=POOL_NAME)
    vm_size: str = "Standard_D4ds_v5"
    min_count: int = Field(default=2, ge=1, le=100)
    max_count: int = Field(default=4, ge=1, le=100)
    os_disk_size_gb: int = Field(default=128, ge=30, le=2048)


class AksGpuPool(ComponentArgs):
    """The User pool Triton (and the engine-build Jobs) run on."""

    # None derives "gpu<hash>" from the settings AKS cannot change in place (see agent_pool_name).
    name: str | None = Field(default=None, pattern=POOL_NAME)
    vm_size: str
    min_count: int = Field(default=0, ge=0, le=1000)
    max_count: int = Field(default=2, ge=1, le=1000)
    os_disk_size_gb: int = Field(default=200, ge=50, le=2048)
    spot: bool = False
    # MIG1g..MIG7g (triton_platform.catalog.gpu.aks_gpu_instance_profile); None: whole GPUs.
    gpu_instance_profile: str | None = Field(default=None, pattern=r"^MIG[12347]g$")
    # The configured GPU product, recorded as a node label (cost reports, debugging).
    gpu_product: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    # What cluster-autoscaler must know to add the first node (values.autoscaling.gpu_node_template);
    # None: no node-template tags (an empty MIG pool then never grows).
    node_template: NodeTemplate | None = None

    @model_validator(mode="after")
    def _bounds(self) -> AksGpuPool:
        if self.min_count > self.max_count:
            raise ValueError(f"GPU pool min_count ({self.min_count}) must be <= max_count ({self.max_count})")
        return self

    @property
    def agent_pool_name(self) -> str:
        """The pool's name in AKS.

        VM size, MIG profile (gpuInstanceProfile), spot and OS disk size are fixed when AKS
        creates a pool. Naming the pool after them turns a change into a new pool created
        before the old one is deleted (Pulumi's default replace), instead of a failed update.
        """
        if self.name:
            return self.name
        fixed = f"{self.vm_size.lower()}|{self.gpu_instance_profile}|{self.spot}|{self.os_disk_size_gb}"
        return "gpu" + hashlib.sha256(fixed.encode()).hexdigest()[:6]


class AksClusterArgs(ComponentArgs):
    provider: pulumi.ProviderResource  # azure-native provider, used by every Azure child
    cluster_name: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
    location: str = Field(min_length=2)
    kubernetes_version: str = Field(pattern=r"^1\.\d{2}(\.\d+)?$")
    # An existing resource group to deploy into; None creates "<cluster>-rg".
    resource_group_name: str | None = None
    # Keep the created resource group on destroy (it also holds the model storage account,
    # which Azure would delete with the group).
    retain_resource_group: bool = False
    system_pool: AksSystemPool = Field(default_factory=AksSystemPool)
    gpu_pool: AksGpuPool | None = None
    # A VNet of our own (address space, node subnet); None lets AKS manage one.
    vnet_cidr: str | None = Field(default=None, pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
    node_subnet_cidr: str | None = Field(default=None, pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
    pod_cidr: str = "192.168.0.0/16"  # overlay: pods never take VNet addresses
    service_cidr: str = "10.0.0.0/16"
    dns_service_ip: str = "10.0.0.10"
    sku_tier: str = Field(default="Standard", pattern=r"^(Free|Standard|Premium)$")
    # CIDRs allowed to reach the API server; [] = no restriction (the component warns).
    api_server_authorized_ip_ranges: list[str] = Field(default_factory=list)
    # A private API server (apiServerAccessProfile.enablePrivateCluster): reachable from the
    # VNet only, so `pulumi up` must run there.
    private_cluster: bool = False
    # The escape hatch, off by default: keep local accounts and Kubernetes RBAC only (no
    # Entra ID), with a certificate kubeconfig. Default: Entra ID + Azure RBAC, local accounts off.
    local_accounts: bool = False
    # Entra ID groups whose members are cluster-admin (aadProfile.adminGroupObjectIDs).
    admin_group_object_ids: list[str] = Field(default_factory=list)
    # An existing node subnet (resource id) in a VNet the deployer reaches: what a private
    # cluster needs, since `pulumi up` must reach its API server right after creating it.
    vnet_subnet_id: str | None = None
    # cluster.access: [user:|group:|servicePrincipal:]<object id> (triton_platform.clouds.access).
    admins: list[str] = Field(default_factory=list)
    viewers: list[str] = Field(default_factory=list)
    # Where the publisher's Kubernetes engine builder reads the kubeconfig (a 0600 file).
    kubeconfig_path: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _network(self) -> AksClusterArgs:
        if (self.vnet_cidr is None) != (self.node_subnet_cidr is None):
            raise ValueError("vnet_cidr and node_subnet_cidr go together (both or neither)")
        for cidr in self.api_server_authorized_ip_ranges:
            ipv4_cidr(cidr)
        if self.private_cluster and self.api_server_authorized_ip_ranges:
            # "You can't use this feature with private clusters." (AKS, API server authorized IP ranges)
            raise ValueError("api_server_authorized_ip_ranges cannot be combined with private_cluster")
        for group in self.admin_group_object_ids:
            entra_object_id(group)
        if self.local_accounts and self.admin_group_object_ids:
            raise ValueError("admin_group_object_ids needs Entra ID, which local_accounts=True leaves off")
        if self.private_cluster and self.vnet_subnet_id is None:
            raise ValueError(
                "private_cluster needs vnet_subnet_id: a subnet in a VNet the machine running `pulumi up` reaches"
            )
        if self.vnet_subnet_id is not None and self.vnet_cidr is not None:
            raise ValueError("vnet_subnet_id (an existing subnet) and vnet_cidr (a VNet of our own) exclude each other")
        for entry in [*self.admins, *self.viewers]:
            access.aks_principal(entry)  # raises with the expected form
        return self


def aad_profile(args: AksClusterArgs) -> azure.containerservice.ManagedClusterAADProfileArgsDict | None:
    """Entra ID integration (AKS-managed) with Azure RBAC for Kubernetes authorization; None with local accounts.

    Field names: azure-native containerservice ManagedClusterAADProfile. ``tenant_id`` is left
    out: AKS then uses the tenant of the cluster's subscription, the one Azure RBAC needs.
    """
    if args.local_accounts:
        return None
    profile: azure.containerservice.ManagedClusterAADProfileArgsDict = {"managed": True, "enable_azure_rbac": True}
    if args.admin_group_object_ids:
        profile["admin_group_object_ids"] = list(args.admin_group_object_ids)
    return profile


def api_server_access_profile(
    args: AksClusterArgs,
) -> azure.containerservice.ManagedClusterAPIServerAccessProfileArgsDict | None:
    """Authorized IP ranges, or a private API server, or None (public to any address)."""
    if args.private_cluster:
        return {"enable_private_cluster": True}
    if args.api_server_authorized_ip_ranges:
        return {"authorized_ip_ranges": list(args.api_server_authorized_ip_ranges)}
    return None


def _exec_arg(args: list[Any], flag: str) -> str | None:
    """The value after ``flag`` in an exec plugin's args (kubelogin's own getExecArg)."""
    for i, arg in enumerate(args[:-1]):
        if arg == flag:
            return str(args[i + 1])
    return None


def kubelogin_azurecli(kubeconfig: str) -> str:
    """``kubelogin convert-kubeconfig -l azurecli`` in code, for the kubeconfig AKS returns with Entra ID on.

    Every user whose exec command is kubelogin becomes ``kubelogin get-token --login azurecli
    --server-id <the AKS server app id from AKS' own kubeconfig>`` (as kubelogin's converter
    writes it; the tenant from the input is dropped, as there): the token comes from the Azure
    CLI login of whoever uses the file, and the file holds no credential. kubelogin reads
    ``AAD_LOGIN_METHOD`` at each call, so CI can switch to ``spn`` or ``workloadidentity``.
    """
    doc = yaml.safe_load(kubeconfig) or {}
    converted = 0
    for user in doc.get("users") or []:
        exec_config = (user.get("user") or {}).get("exec") or {}
        if KUBELOGIN not in str(exec_config.get("command", "")).lower():
            continue
        server_id = _exec_arg(list(exec_config.get("args") or []), "--server-id")
        if not server_id:
            raise ValueError(f"kubeconfig user {user.get('name')!r}: kubelogin needs --server-id, AKS gave none")
        new_exec: dict[str, Any] = {
            "apiVersion": EXEC_API_VERSION,
            "command": KUBELOGIN,
            "args": ["get-token", "--login", KUBELOGIN_LOGIN, "--server-id", server_id],
        }
        if exec_config.get("installHint"):
            new_exec["installHint"] = exec_config["installHint"]
        # Nothing else of the user survives: no token, no client certificate.
        user["user"] = {"exec": new_exec}
        converted += 1
    if not converted:
        raise ValueError("the AKS user kubeconfig has no kubelogin exec user; is Entra ID integration (aadProfile) on?")
    return yaml.safe_dump(doc, sort_keys=False)


def gpu_pool_labels(pool: AksGpuPool) -> dict[str, str]:
    """Node labels of the GPU pool: ours (for selection and cost reports) plus the caller's."""
    labels = dict(gpu.GPU_POOL_SELECTOR)
    if pool.gpu_product:
        labels["triton-platform/gpu-product"] = re.sub(r"[^A-Za-z0-9_.-]", "-", pool.gpu_product)[:63]
    if pool.gpu_instance_profile:
        labels["triton-platform/gpu-instance-profile"] = pool.gpu_instance_profile
    return {**labels, **pool.labels}


# cluster-autoscaler's node-template tags on a scale set (kubernetes/autoscaler cluster-autoscaler-1.31.0
# cloudprovider/azure/azure_util.go, azure_template.go buildNodeFromTemplate; azure/README.md "Scaling a
# VMSS node group to and from 0"): Azure tag names cannot hold '/', so '/' is written '_' and '_' '~2'.
# AKS applies a node pool's tags to its scale set (AKS docs, "Use Azure tags in AKS").
_AZURE_TEMPLATE = "k8s.io_cluster-autoscaler_node-template_"


def _template_key(kind: str, name: str) -> str:
    return _AZURE_TEMPLATE + kind + "_" + name.replace("_", "~2").replace("/", "_")


def autoscaler_tags(pool: AksGpuPool) -> dict[str, str]:
    """The GPU pool's node-template tags: its labels, its taint, what one node offers; {} without a template."""
    template = pool.node_template
    if template is None:
        return {}
    tags = {_template_key("label", k): v for k, v in {**gpu_pool_labels(pool), **template.labels}.items()}
    taint_key, taint_value = az.GPU_TAINT.split("=", 1)
    tags[_template_key("taint", taint_key)] = taint_value
    tags.update({_template_key("resources", k): str(v) for k, v in template.resources.items()})
    return tags


def _scale_set_pool(vm_size: str, min_count: int, max_count: int, os_disk_size_gb: int) -> dict[str, Any]:
    """What the System profile and the GPU agent pool share: autoscaled Ubuntu scale sets starting at min_count."""
    return {
        "vm_size": vm_size,
        "os_type": "Linux",
        "os_sku": "Ubuntu",
        "type": "VirtualMachineScaleSets",
        "enable_auto_scaling": True,
        "count": min_count,
        "min_count": min_count,
        "max_count": max_count,
        "os_disk_size_gb": os_disk_size_gb,
    }


def system_pool_profile(
    pool: AksSystemPool, subnet_id: pulumi.Output[str] | None
) -> azure.containerservice.ManagedClusterAgentPoolProfileArgsDict:
    """The managed cluster's System agent pool profile, in the node subnet when there is one."""
    profile: azure.containerservice.ManagedClusterAgentPoolProfileArgsDict = {
        "name": pool.name,
        "mode": "System",
        **_scale_set_pool(pool.vm_size, pool.min_count, pool.max_count, pool.os_disk_size_gb),
        "upgrade_settings": {"max_surge": "33%"},
    }
    if subnet_id is not None:
        profile["vnet_subnet_id"] = subnet_id
    return profile


def _client_config(provider: pulumi.ProviderResource) -> pulumi.Output[Any]:
    """Who runs `pulumi up`, and in which subscription (azure-native getClientConfig)."""
    return azure.authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=provider))


def _assign_role(
    resource_name: str,
    client: pulumi.Output[Any],
    *,
    role: str,
    principal_id: pulumi.Input[str],
    scope: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    **extra: Any,
) -> azure.authorization.RoleAssignment:
    """A built-in ``role`` (its definition id) on ``scope`` for ``principal_id``."""
    return azure.authorization.RoleAssignment(
        resource_name,
        principal_id=principal_id,
        role_definition_id=client.subscription_id.apply(lambda s: az.role_definition_id(s, role)),
        scope=scope,
        opts=opts,
        **extra,
    )


class AksCluster(pulumi.ComponentResource):
    """An AKS cluster ready for Triton: workload identity on, GPU pool tainted and partitioned."""

    resource_group_name: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    cluster: azure.containerservice.ManagedCluster
    gpu_pool: azure.containerservice.AgentPool | None
    oidc_issuer_url: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    kubeconfig_path: str | None
    provider: k8s.Provider
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:azure:AksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)

        # --- network ---
        self.resource_group_name = self._resource_group(name, args, child)
        subnet = self._node_subnet(name, args, child)
        subnet_id = subnet.id if subnet is not None else None
        if args.vnet_subnet_id is not None:
            subnet_id = pulumi.Output.from_input(args.vnet_subnet_id)

        # --- control plane ---
        self.cluster = self._control_plane(name, args, subnet_id, child)
        self.cluster_name = self.cluster.name
        self.oidc_issuer_url = self.cluster.oidc_issuer_profile.apply(
            lambda p: p.issuer_url if p and p.issuer_url else ""
        )
        ready: list[pulumi.Resource] = [self.cluster]
        if subnet_id is not None:
            # With a VNet of our own, the cluster identity manages the internal load balancer's
            # front ends in the node subnet: Network Contributor on that subnet only.
            ready.append(
                _assign_role(
                    f"{name}-subnet-network",
                    _client_config(args.provider),
                    role=az.NETWORK_CONTRIBUTOR,
                    principal_id=self.cluster.identity.apply(lambda i: i.principal_id if i else ""),
                    principal_type="ServicePrincipal",
                    scope=subnet_id,
                    opts=child,
                )
            )

        # --- node pools ---
        self.gpu_pool = None
        if args.gpu_pool is not None:
            self.gpu_pool = self._gpu_pool(name, args, args.gpu_pool, subnet_id, child)
            ready.append(self.gpu_pool)

        # --- access ---
        provider_deps: list[pulumi.Resource] = [self.cluster]
        if not args.local_accounts:
            grants = [self._deployer_admin(name, args, child), *self._access_roles(name, args, child)]
            ready += grants
            provider_deps += grants
        self.kubeconfig = self._user_kubeconfig(args)
        self.kubeconfig_path = args.kubeconfig_path
        if args.kubeconfig_path:
            # The engine builder runs where `pulumi up` runs and reads this file.
            provider_deps.append(kubeconfig_file(name, args.kubeconfig_path, self.kubeconfig, parent=self))
        self.provider = k8s.Provider(
            f"{name}-k8s",
            k8s.ProviderArgs(kubeconfig=self.kubeconfig),
            opts=pulumi.ResourceOptions(parent=self, depends_on=provider_deps),
        )
        self.ready = ready
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "resourceGroupName": self.resource_group_name,
                "oidcIssuerUrl": self.oidc_issuer_url,
                "kubeconfig": self.kubeconfig,
            }
        )

    def _resource_group(self, name: str, args: AksClusterArgs, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        """The existing group's name, or ``<cluster>-rg`` created (and retained on destroy if asked)."""
        if args.resource_group_name is not None:
            return pulumi.Output.from_input(args.resource_group_name)
        group = azure.resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=f"{args.cluster_name}-rg",
            location=args.location,
            tags=args.tags,
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(retain_on_delete=args.retain_resource_group)
            ),
        )
        return group.name

    def _node_subnet(
        self, name: str, args: AksClusterArgs, child: pulumi.ResourceOptions
    ) -> azure.network.Subnet | None:
        """A VNet of our own and its node subnet, when ``vnet_cidr`` asks for one (else AKS manages one)."""
        if not (args.vnet_cidr and args.node_subnet_cidr):
            return None
        vnet = azure.network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=self.resource_group_name,
            location=args.location,
            virtual_network_name=f"{args.cluster_name}-vnet",
            address_space={"address_prefixes": [args.vnet_cidr]},
            tags=args.tags,
            # Subnets are separate resources: keep the VNet from fighting over them.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["subnets"])),
        )
        return azure.network.Subnet(
            f"{name}-nodes",
            resource_group_name=self.resource_group_name,
            virtual_network_name=vnet.name,
            subnet_name="nodes",
            address_prefix=args.node_subnet_cidr,
            opts=child,
        )

    def _control_plane(
        self, name: str, args: AksClusterArgs, subnet_id: pulumi.Output[str] | None, child: pulumi.ResourceOptions
    ) -> azure.containerservice.ManagedCluster:
        """The managed cluster with its System pool, identity, network profile and API access."""
        if not args.private_cluster and is_open_to_internet(args.api_server_authorized_ip_ranges):
            pulumi.log.warn(open_endpoint_warning(args.cluster_name), resource=self)
        return azure.containerservice.ManagedCluster(
            f"{name}-aks",
            resource_group_name=self.resource_group_name,
            resource_name_=args.cluster_name,
            location=args.location,
            dns_prefix=args.cluster_name,
            kubernetes_version=args.kubernetes_version,
            identity={"type": azure.containerservice.ResourceIdentityType.SYSTEM_ASSIGNED},
            sku={"name": "Base", "tier": args.sku_tier},
            enable_rbac=True,
            # Entra ID + Azure RBAC, and no local (certificate) accounts, unless the escape hatch is on.
            aad_profile=aad_profile(args),
            disable_local_accounts=not args.local_accounts,
            # Keyless storage access: the OIDC issuer + workload identity webhook.
            oidc_issuer_profile={"enabled": True},
            security_profile={"workload_identity": {"enabled": True}},
            network_profile={
                "network_plugin": "azure",
                "network_plugin_mode": "overlay",
                # Azure CNI powered by Cilium enforces the chart's NetworkPolicies.
                "network_dataplane": "cilium",
                "network_policy": "cilium",
                "pod_cidr": args.pod_cidr,
                "service_cidr": args.service_cidr,
                "dns_service_ip": args.dns_service_ip,
                "load_balancer_sku": "standard",
                "outbound_type": "loadBalancer",
            },
            agent_pool_profiles=[system_pool_profile(args.system_pool, subnet_id)],
            auto_upgrade_profile={"upgrade_channel": "patch", "node_os_upgrade_channel": "NodeImage"},
            api_server_access_profile=api_server_access_profile(args),
            tags=args.tags,
            opts=child,
        )

    def _gpu_pool(
        self,
        name: str,
        args: AksClusterArgs,
        pool: AksGpuPool,
        subnet_id: pulumi.Output[str] | None,
        child: pulumi.ResourceOptions,
    ) -> azure.containerservice.AgentPool:
        return azure.containerservice.AgentPool(
            f"{name}-gpu-pool",
            resource_group_name=self.resource_group_name,
            resource_name_=self.cluster.name,
            agent_pool_name=pool.agent_pool_name,
            mode="User",
            **_scale_set_pool(pool.vm_size, pool.min_count, pool.max_count, pool.os_disk_size_gb),
            # AKS installs the NVIDIA driver and container toolkit; the GPU operator runs with
            # driver/toolkit disabled and brings the device plugin, GFD and DCGM exporter.
            gpu_profile={"driver": "Install"},
            gpu_instance_profile=pool.gpu_instance_profile,
            node_taints=[az.GPU_TAINT],
            node_labels=gpu_pool_labels(pool),
            vnet_subnet_id=subnet_id,
            # A MIG layout or VM size change needs new nodes: surge one at a time.
            upgrade_settings={"max_surge": "1"},
            tags={**args.tags, **autoscaler_tags(pool)},
            # Spot: evicted VMs are deleted; pay up to the on-demand price (-1), never evicted for price.
            scale_set_priority="Spot" if pool.spot else None,
            scale_set_eviction_policy="Delete" if pool.spot else None,
            spot_max_price=-1 if pool.spot else None,
            # The cluster autoscaler owns the node count after creation, as EKS' desiredSize.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["count"])),
        )

    def _deployer_admin(
        self, name: str, args: AksClusterArgs, child: pulumi.ResourceOptions
    ) -> azure.authorization.RoleAssignment:
        """Whoever runs `pulumi up` administers the cluster through Azure RBAC, on this cluster only.

        Other people get AKS_RBAC_READER / WRITER / ADMIN assignments of their own.
        """
        client = _client_config(args.provider)
        return _assign_role(
            f"{name}-deployer-cluster-admin",
            client,
            role=AKS_RBAC_CLUSTER_ADMIN,
            principal_id=client.object_id,
            # Set from the login: unset, the API takes User and a service principal gets
            # UnmatchedPrincipalType (Azure/azure-rest-api-specs#21664).
            principal_type=client.client_id.apply(access.deployer_principal_type),
            scope=self.cluster.id,
            opts=child,
        )

    def _access_roles(
        self, name: str, args: AksClusterArgs, child: pulumi.ResourceOptions
    ) -> list[azure.authorization.RoleAssignment]:
        """cluster.access on this cluster: Cluster User Role (listClusterUserCredential) + an AKS RBAC role.

        Names follow the principal and the role, not their place in the list.
        """
        client = _client_config(args.provider)
        assignments = []
        for level, entries in (("admins", args.admins), ("viewers", args.viewers)):
            for entry in entries:
                principal = access.aks_principal(entry)
                for role in access.AKS_ACCESS_ROLES[level]:
                    digest = hashlib.sha256(f"{principal.object_id}|{role}".encode()).hexdigest()[:8]
                    assignments.append(
                        _assign_role(
                            f"{name}-access-{digest}",
                            client,
                            role=role,
                            principal_id=principal.object_id,
                            principal_type=principal.principal_type,
                            scope=self.cluster.id,
                            opts=child,
                        )
                    )
        return assignments

    def _user_kubeconfig(self, args: AksClusterArgs) -> pulumi.Output[str]:
        """The cluster user kubeconfig, secret: kubelogin + Azure CLI with Entra ID, a certificate without."""
        creds = azure.containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=self.resource_group_name,
            resource_name=self.cluster.name,
            # Entra ID clusters: "exec" returns the kubelogin exec-plugin kubeconfig; the escape
            # hatch (local accounts, no Entra ID) gets a client certificate.
            format=None if args.local_accounts else "exec",
            opts=pulumi.InvokeOutputOptions(provider=args.provider, depends_on=[self.cluster]),
        )
        if args.local_accounts:
            return pulumi.Output.secret(creds.kubeconfigs.apply(_decode_kubeconfig))
        # No credential inside, but the file names the cluster's endpoint: kept secret like the others.
        return pulumi.Output.secret(creds.kubeconfigs.apply(lambda k: kubelogin_azurecli(_decode_kubeconfig(k))))


def _decode_kubeconfig(kubeconfigs: object) -> str:
    """The first kubeconfig of listManagedClusterUserCredentials, base64-decoded."""
    items = list(kubeconfigs or [])  # type: ignore[call-overload]
    if not items:
        raise ValueError("listManagedClusterUserCredentials returned no kubeconfig")
    first = items[0]
    value = first.value if hasattr(first, "value") else first["value"]
    return base64.b64decode(value).decode("utf-8")
