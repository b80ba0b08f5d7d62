"""GkeCluster: a VPC-native GKE Standard cluster with Workload Identity and a GPU node pool.

Provisions a custom VPC and subnetwork (secondary ranges for pods and services), Cloud NAT
when nodes are private, a least-privilege node service account, the cluster (default pool
removed, release channel, Workload Identity, Dataplane V2 so NetworkPolicies are enforced),
the control-plane endpoint narrowed to master authorized networks or made private
(``private_endpoint``), a system node pool and, when asked for, a GPU node pool whose
accelerators GKE partitions (MIG: ``gpu_partition_size``) or shares (``gpu_sharing_config``
time-sharing) itself, with GKE's own driver installer and device plugin. Also the cluster's kubeconfig (secret; it
authenticates through ``gke-gcloud-auth-plugin``, so it holds no credentials) and the
Kubernetes provider every Kubernetes resource of the stack uses.

The constructor follows those sections (network, control plane, node pools, access), each a
function of its own; one ``_NodePools.pool`` builds both pools. The pure helpers
(``gke_kubeconfig``, ``guest_accelerator`` ...) hold the build logic and
are tested without Pulumi; GCP naming rules (``region_of``, ``is_zone``) live in
``triton_platform.clouds.gcp``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import yaml
from pydantic import Field, model_validator

from components.base import ComponentArgs
from components.kubeconfig_file import kubeconfig_file
from triton_platform.catalog import gpu
from triton_platform.clouds import access
from triton_platform.clouds.gcp import is_zone, region_of
from triton_platform.config import ipv4_cidr, is_open_to_internet, open_endpoint_warning

# GKE adds exactly this taint to GPU pools of clusters that also have non-GPU pools; declaring
# it ourselves keeps it when GKE would not (all-GPU cluster) and avoids a perpetual diff.
GPU_TAINT: gcp.container.NodePoolNodeConfigTaintArgsDict = {
    "key": "nvidia.com/gpu",
    "value": "present",
    "effect": "NO_SCHEDULE",
}
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# Logging, monitoring and metadata writes, and nothing else (Google's recommended node role).
NODE_SERVICE_ACCOUNT_ROLE = "roles/container.defaultNodeServiceAccount"
POOL_LABEL = gpu.POOL_LABEL
AUTH_PLUGIN = "gke-gcloud-auth-plugin"


# --------------------------------------------------------------------------- pure helpers


def service_account_id(base: str, role: str) -> str:
    """A GCP service account id (6-30 chars, ``[a-z][-a-z0-9]*[a-z0-9]``) for ``<base>-<role>``."""
    room = 30 - len(role) - 1
    head = re.sub(r"[^a-z0-9-]", "-", base.lower())[:room].strip("-") or "triton"
    if not head[0].isalpha():
        head = "t" + head[: room - 1]
    account = f"{head}-{role}"
    if len(account) < 6:
        account = f"{account}-sa"
    return account


def boot_disk_type(machine_type: str) -> str:
    """A3 Ultra and A4 machines boot from Hyperdisk only; every other GPU family takes pd-balanced."""
    family = machine_type.lower()
    if family.startswith(("a3-ultragpu", "a4-", "a4x-")):
        return "hyperdisk-balanced"
    return "pd-balanced"


def guest_accelerator(
    *,
    accelerator: str,
    count: int,
    partition_size: str | None = None,
    time_sharing_clients: int | None = None,
    driver_version: str = "LATEST",
) -> gcp.container.NodePoolNodeConfigGuestAcceleratorArgsDict:
    """One ``node_config.guest_accelerators`` entry.

    MIG: GKE creates ``partition_size`` instances on every GPU and advertises each as one
    ``nvidia.com/gpu``, labelling nodes ``cloud.google.com/gke-gpu-partition-size``.
    Time-sharing: GKE's device plugin advertises each GPU ``time_sharing_clients`` times.
    """
    if partition_size and time_sharing_clients:
        raise ValueError(
            "GPU time-sharing is the fallback for GPUs without MIG; set partition_size or time_sharing_clients"
        )
    entry: gcp.container.NodePoolNodeConfigGuestAcceleratorArgsDict = {
        "type": accelerator,
        "count": count,
        # GKE installs the driver itself (no NVIDIA GPU operator on GKE).
        "gpu_driver_installation_config": {"gpu_driver_version": driver_version},
    }
    if partition_size:
        entry["gpu_partition_size"] = partition_size
    if time_sharing_clients:
        entry["gpu_sharing_config"] = {
            "gpu_sharing_strategy": "TIME_SHARING",
            "max_shared_clients_per_gpu": time_sharing_clients,
        }
    return entry


def gke_kubeconfig(*, cluster_name: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig for a GKE cluster that authenticates with ``gke-gcloud-auth-plugin``.

    It holds the API endpoint and the cluster CA, never a token: whoever uses it needs their
    own gcloud login, exactly like ``gcloud container clusters get-credentials``.
    """
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_certificate},
            }
        ],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": AUTH_PLUGIN,
                        "installHint": (
                            "Install gke-gcloud-auth-plugin: "
                            "gcloud components install gke-gcloud-auth-plugin (then gcloud auth login)"
                        ),
                        "provideClusterInfo": True,
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def initial_node_count(min_nodes: int, *, zonal: bool, floor: int) -> int:
    """Nodes a pool starts with. GKE counts them per zone; regional pools start small and autoscale."""
    if zonal:
        return max(min_nodes, floor)
    return floor


# --------------------------------------------------------------------------- args


class SystemPoolSpec(ComponentArgs):
    """The pool for everything that is not Triton: monitoring, kube-system, the engine builder's helpers."""

    machine_type: str = Field(default="e2-standard-4", min_length=1)
    min_nodes: int = Field(default=1, ge=1, le=100)
    max_nodes: int = Field(default=3, ge=1, le=100)
    disk_size_gb: int = Field(default=100, ge=20, le=65_536)

    @model_validator(mode="after")
    def _bounds(self) -> SystemPoolSpec:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"system pool min_nodes ({self.min_nodes}) must be <= max_nodes ({self.max_nodes})")
        return self


class GpuPoolSpec(ComponentArgs):
    """The GPU node pool: machine, accelerator, partitioning/sharing, autoscaling bounds."""

    machine_type: str = Field(min_length=1)
    # GKE accelerator type (triton_platform.catalog.gpu.find_product(...).gke_accelerator).
    accelerator: str = Field(pattern=r"^nvidia-[a-z0-9-]+$")
    gpu_count: int = Field(ge=1, le=16)
    min_nodes: int = Field(default=0, ge=0, le=1000)
    max_nodes: int = Field(default=2, ge=1, le=1000)
    disk_size_gb: int = Field(default=200, ge=50, le=65_536)
    spot: bool = False
    partition_size: str | None = Field(default=None, pattern=r"^\d+g\.\d+gb$")
    time_sharing_clients: int | None = Field(default=None, ge=2, le=48)
    driver_version: Literal["DEFAULT", "LATEST"] = "LATEST"

    @model_validator(mode="after")
    def _consistent(self) -> GpuPoolSpec:
        if self.min_nodes > self.max_nodes:
            raise ValueError(f"GPU pool min_nodes ({self.min_nodes}) must be <= max_nodes ({self.max_nodes})")
        if self.partition_size and self.time_sharing_clients:
            raise ValueError("set partition_size (MIG) or time_sharing_clients, not both")
        return self


class GkeClusterArgs(ComponentArgs):
    """One GKE Standard cluster. ``provider`` is the gcp.Provider every GCP child uses."""

    provider: pulumi.ProviderResource
    project: str = Field(pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
    location: str = Field(min_length=2)
    cluster_name: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
    kubernetes_version: str = Field(default="1.31", pattern=r"^1\.\d{2}$")
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    system_pool: SystemPoolSpec = Field(default_factory=SystemPoolSpec)
    gpu_pool: GpuPoolSpec | None = None
    # Nodes without public IPs; egress (nvcr.io pulls) through Cloud NAT.
    private_nodes: bool = True
    master_ipv4_cidr: str = "172.16.0.0/28"
    node_cidr: str = "10.10.0.0/20"
    pods_cidr: str = "10.16.0.0/14"
    services_cidr: str = "10.20.0.0/20"
    # CIDRs allowed to reach the control-plane endpoint (master authorized networks); empty and
    # public: any address (IAM still applies; the component warns).
    master_authorized_networks: list[str] = Field(default_factory=list)
    # The control plane's private endpoint only (private_cluster_config.enable_private_endpoint):
    # `pulumi up` must run inside the VPC (or a network peered/VPN'd to it).
    private_endpoint: bool = False
    # The cluster holds no data the stack cannot recreate (models live in the bucket).
    deletion_protection: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    # Where to write the kubeconfig for tools that run beside `pulumi up` (the engine builder).
    kubeconfig_path: str | None = None
    # cluster.access: IAM members (user:, group:, serviceAccount:, principal://, principalSet://).
    admins: list[str] = Field(default_factory=list)
    viewers: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _network(self) -> GkeClusterArgs:
        region_of(self.location)  # raises with the valid forms
        nets = {}
        for key in ("master_ipv4_cidr", "node_cidr", "pods_cidr", "services_cidr"):
            try:
                nets[key] = ipaddress.ip_network(getattr(self, key))
            except ValueError as err:
                raise ValueError(
                    f"{key} {getattr(self, key)!r} is not a CIDR block (e.g. '10.10.0.0/20'): {err}"
                ) from None
        if nets["master_ipv4_cidr"].prefixlen != 28:
            raise ValueError(f"master_ipv4_cidr must be a /28 (e.g. '172.16.0.0/28'), got {self.master_ipv4_cidr!r}")
        keys = list(nets)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                if nets[a].overlaps(nets[b]):
                    raise ValueError(f"{a} {getattr(self, a)} overlaps {b} {getattr(self, b)}: use disjoint ranges")
        for cidr in self.master_authorized_networks:
            try:
                ipv4_cidr(cidr)
            except ValueError as err:
                raise ValueError(f"master_authorized_networks entry: {err}") from None
        if self.private_endpoint and not self.private_nodes:
            # pulumi_gcp ClusterPrivateClusterConfig.enable_private_endpoint: "This field only
            # applies to private clusters, when enable_private_nodes is true."
            raise ValueError("private_endpoint needs private_nodes (GKE private clusters only)")
        return self


# --------------------------------------------------------------------------- sections


def _network(
    name: str, args: GkeClusterArgs, region: str, opts: pulumi.ResourceOptions
) -> tuple[gcp.compute.Network, gcp.compute.Subnetwork]:
    """The custom VPC and the node subnetwork with its secondary ranges for pods and services."""
    network = gcp.compute.Network(
        f"{name}-network",
        name=f"{args.cluster_name}-net",
        project=args.project,
        auto_create_subnetworks=False,
        routing_mode="REGIONAL",
        opts=opts,
    )
    subnetwork = gcp.compute.Subnetwork(
        f"{name}-subnet",
        name=f"{args.cluster_name}-nodes",
        project=args.project,
        region=region,
        network=network.id,
        ip_cidr_range=args.node_cidr,
        # Nodes reach GCS (the model bucket) and Google APIs without public IPs.
        private_ip_google_access=True,
        secondary_ip_ranges=[
            {"range_name": "pods", "ip_cidr_range": args.pods_cidr},
            {"range_name": "services", "ip_cidr_range": args.services_cidr},
        ],
        opts=opts,
    )
    return network, subnetwork


def _cloud_nat(
    name: str, args: GkeClusterArgs, region: str, network: gcp.compute.Network, opts: pulumi.ResourceOptions
) -> None:
    """A Cloud Router and NAT: private nodes' egress (nvcr.io pulls)."""
    router = gcp.compute.Router(
        f"{name}-router",
        name=f"{args.cluster_name}-router",
        project=args.project,
        region=region,
        network=network.id,
        opts=opts,
    )
    gcp.compute.RouterNat(
        f"{name}-nat",
        name=f"{args.cluster_name}-nat",
        project=args.project,
        region=region,
        router=router.name,
        nat_ip_allocate_option="AUTO_ONLY",
        source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
        log_config={"enable": True, "filter": "ERRORS_ONLY"},
        opts=opts,
    )


def _node_service_account(
    name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions
) -> tuple[gcp.serviceaccount.Account, gcp.projects.IAMMember]:
    """The nodes' own service account, with Google's least-privilege node role only."""
    account = gcp.serviceaccount.Account(
        f"{name}-node-sa",
        account_id=service_account_id(args.cluster_name, "nodes"),
        display_name=f"GKE nodes of {args.cluster_name} (triton-platform)",
        project=args.project,
        opts=opts,
    )
    role = gcp.projects.IAMMember(
        f"{name}-node-sa-role",
        project=args.project,
        role=NODE_SERVICE_ACCOUNT_ROLE,
        member=account.email.apply(lambda e: f"serviceAccount:{e}"),
        opts=opts,
    )
    return account, role


def _endpoint_access(args: GkeClusterArgs) -> dict[str, Any]:
    """The cluster's private-cluster and master-authorized-networks settings (Cluster arguments)."""
    access: dict[str, Any] = {}
    if args.private_nodes:
        access["private_cluster_config"] = {
            "enable_private_nodes": True,
            # By default the control plane keeps a public endpoint so `pulumi up` can reach
            # it, narrowed by master_authorized_networks; private_endpoint turns it off.
            "enable_private_endpoint": args.private_endpoint,
            "master_ipv4_cidr_block": args.master_ipv4_cidr,
        }
    if args.master_authorized_networks or args.private_endpoint:
        # Field names: pulumi_gcp container ClusterMasterAuthorizedNetworksConfig(CidrBlock).
        # Private endpoint and no CIDRs: the config without cidr_blocks, which "disallow[s]
        # external access (except the cluster node IPs, which GKE automatically whitelists)".
        authorized: dict[str, Any] = {}
        if args.master_authorized_networks:
            authorized["cidr_blocks"] = [
                {"cidr_block": c, "display_name": f"allowed-{i}"} for i, c in enumerate(args.master_authorized_networks)
            ]
        if args.private_endpoint and args.master_authorized_networks:
            # "Whether authorized networks is enforced on the private endpoint or not."
            authorized["private_endpoint_enforcement_enabled"] = True
        access["master_authorized_networks_config"] = authorized
    return access


def _control_plane(
    name: str,
    args: GkeClusterArgs,
    network: gcp.compute.Network,
    subnetwork: gcp.compute.Subnetwork,
    opts: pulumi.ResourceOptions,
) -> gcp.container.Cluster:
    """The VPC-native cluster, without its default pool (the pools are resources of their own)."""
    return gcp.container.Cluster(
        f"{name}-cluster",
        name=args.cluster_name,
        project=args.project,
        location=args.location,
        network=network.id,
        subnetwork=subnetwork.id,
        networking_mode="VPC_NATIVE",
        ip_allocation_policy={"cluster_secondary_range_name": "pods", "services_secondary_range_name": "services"},
        # Node pools are separate resources: they change without recreating the cluster.
        remove_default_node_pool=True,
        initial_node_count=1,
        release_channel={"channel": args.release_channel},
        min_master_version=args.kubernetes_version,
        workload_identity_config={"workload_pool": _workload_pool(args)},
        # Dataplane V2 enforces the chart's NetworkPolicy.
        datapath_provider="ADVANCED_DATAPATH",
        enable_shielded_nodes=True,
        deletion_protection=args.deletion_protection,
        resource_labels={"app": "triton-platform", "cluster": args.cluster_name, **args.labels},
        **_endpoint_access(args),
        opts=opts,
    )


def _workload_pool(args: GkeClusterArgs) -> str:
    return f"{args.project}.svc.id.goog"


@dataclass(frozen=True)
class _NodePools:
    """Where one GkeCluster's node pools go: the cluster, the node service account, the options."""

    name: str
    args: GkeClusterArgs
    cluster: gcp.container.Cluster
    service_account: pulumi.Output[str]
    opts: pulumi.ResourceOptions

    def pool(
        self, part: str, spec: SystemPoolSpec | GpuPoolSpec, *, floor: int, location_policy: str, **node_config: Any
    ) -> gcp.container.NodePool:
        """``<name>-<part>-pool`` (GKE name ``part``), autoscaled between ``spec``'s totals."""
        args = self.args
        return gcp.container.NodePool(
            f"{self.name}-{part}-pool",
            name=part,
            project=args.project,
            location=args.location,
            cluster=self.cluster.name,
            initial_node_count=initial_node_count(spec.min_nodes, zonal=is_zone(args.location), floor=floor),
            autoscaling={
                "total_min_node_count": spec.min_nodes,
                "total_max_node_count": spec.max_nodes,
                "location_policy": location_policy,
            },
            management={"auto_repair": True, "auto_upgrade": True},
            node_config={
                "service_account": self.service_account,
                "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
                # Pods get their Google identity from the GKE metadata server (Workload Identity),
                # never the node's service account.
                "workload_metadata_config": {"mode": "GKE_METADATA"},
                "metadata": {"disable-legacy-endpoints": "true"},
                "image_type": "COS_CONTAINERD",
                "machine_type": spec.machine_type,
                "disk_size_gb": spec.disk_size_gb,
                **node_config,
            },
            opts=self.opts,
        )

    def system(self) -> gcp.container.NodePool:
        return self.pool(
            "system",
            self.args.system_pool,
            floor=1,
            location_policy="BALANCED",
            disk_type="pd-balanced",
            labels=dict(gpu.SYSTEM_POOL_SELECTOR),
            shielded_instance_config={"enable_secure_boot": True, "enable_integrity_monitoring": True},
        )

    def gpu(self, gp: GpuPoolSpec) -> gcp.container.NodePool:
        """The GPU pool: GKE installs the driver and partitions (MIG) or time-shares the GPUs."""
        return self.pool(
            "gpu",
            gp,
            # GPU pools start empty in a region (GKE counts per zone); Triton's pending pods
            # scale them up to what it asks for.
            floor=0,
            # ANY: take GPUs in whichever zone has capacity (and spot VMs).
            location_policy="ANY",
            disk_type=boot_disk_type(gp.machine_type),
            spot=gp.spot,
            guest_accelerators=[
                guest_accelerator(
                    accelerator=gp.accelerator,
                    count=gp.gpu_count,
                    partition_size=gp.partition_size,
                    time_sharing_clients=gp.time_sharing_clients,
                    driver_version=gp.driver_version,
                )
            ],
            # Ours; GKE adds its own cloud.google.com/gke-accelerator (+ gke-gpu-partition-size),
            # which is what Triton selects on GKE (triton_platform.catalog.gpu.placement).
            labels=dict(gpu.GPU_POOL_SELECTOR),
            taints=[GPU_TAINT],
            shielded_instance_config={"enable_integrity_monitoring": True},
        )


def _access_roles(name: str, args: GkeClusterArgs, child: pulumi.ResourceOptions) -> list[gcp.projects.IAMMember]:
    """cluster.access as project IAM roles (roles/container.admin / roles/container.viewer).

    GKE authorizes the Kubernetes API with IAM first: these roles carry the container.*
    permissions its authorizer maps to Kubernetes verbs, and container.clusters.get, which the
    kubeconfig's plugin needs. Names follow the member and the role, not their place in the list.
    """
    members = []
    for level, entries in (("admins", args.admins), ("viewers", args.viewers)):
        role = access.GKE_ACCESS_ROLES[level]
        for member in entries:
            digest = hashlib.sha256(f"{member}|{role}".encode()).hexdigest()[:8]
            members.append(
                gcp.projects.IAMMember(
                    f"{name}-access-{digest}", project=args.project, role=role, member=member, opts=child
                )
            )
    return members


def _kubeconfig(cluster: gcp.container.Cluster) -> pulumi.Output[str]:
    """The cluster's kubeconfig (``gke-gcloud-auth-plugin``), secret."""
    ca = cluster.master_auth.apply(lambda m: m.cluster_ca_certificate if m else "")
    return pulumi.Output.secret(
        pulumi.Output.all(cluster.name, cluster.endpoint, ca).apply(
            lambda a: gke_kubeconfig(cluster_name=a[0], endpoint=a[1], ca_certificate=a[2])
        )
    )


# --------------------------------------------------------------------------- component


class GkeCluster(pulumi.ComponentResource):
    """A GKE cluster, its pools, its kubeconfig and the Kubernetes provider for it."""

    cluster: gcp.container.Cluster
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    workload_pool: pulumi.Output[str]
    node_service_account: pulumi.Output[str]
    network: gcp.compute.Network
    subnetwork: gcp.compute.Subnetwork
    system_pool: gcp.container.NodePool
    gpu_pool: gcp.container.NodePool | None
    kubeconfig_path: str | None
    # What workloads wait for: the node pools (and the kubeconfig file, when written).
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:gcp:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        region = region_of(args.location)

        # --- network ---
        self.network, self.subnetwork = _network(name, args, region, child)
        if args.private_nodes:
            _cloud_nat(name, args, region, self.network, child)

        # --- control plane ---
        node_sa, node_sa_role = _node_service_account(name, args, child)
        self.node_service_account = node_sa.email
        if not args.private_endpoint and is_open_to_internet(args.master_authorized_networks):
            pulumi.log.warn(open_endpoint_warning(args.cluster_name), resource=self)
        self.cluster = _control_plane(name, args, self.network, self.subnetwork, child)
        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        # From the cluster's own output, so anything binding to the pool waits for the cluster.
        self.workload_pool = self.cluster.workload_identity_config.apply(
            lambda w: w.workload_pool if w and w.workload_pool else _workload_pool(args)
        )

        # --- node pools ---
        pools = _NodePools(
            name,
            args,
            self.cluster,
            node_sa.email,
            pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[node_sa_role]),
        )
        self.system_pool = pools.system()
        self.gpu_pool = pools.gpu(args.gpu_pool) if args.gpu_pool is not None else None

        # --- access ---
        self.kubeconfig = _kubeconfig(self.cluster)
        grants = _access_roles(name, args, child)
        # Kubernetes resources wait for the system pool (a Helm release with no node to run on
        # would only time out) and for the cluster.access roles.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            k8s.ProviderArgs(kubeconfig=self.kubeconfig),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.system_pool, *grants]),
        )
        self.ready = [self.system_pool]
        if self.gpu_pool is not None:
            self.ready.append(self.gpu_pool)
        self.kubeconfig_path = args.kubeconfig_path
        if args.kubeconfig_path:
            self.ready.append(kubeconfig_file(name, args.kubeconfig_path, self.kubeconfig, parent=self))

        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "workloadPool": self.workload_pool,
                "nodeServiceAccount": self.node_service_account,
            }
        )
