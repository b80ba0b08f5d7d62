"""The Azure stack (cloud ``azure``): AKS + Blob Storage + workload identity + GPU operator + Triton.

Composes, with one explicit azure-native provider: the AKS cluster (GPU agent pool partitioned
by ``gpuInstanceProfile`` when MIG is asked for), the hardened storage account and model
container, keyless identities for Triton and the engine builder (federated with the cluster's
OIDC issuer, data roles narrowed to a path by ABAC conditions), the NVIDIA GPU operator (driver
and toolkit come with AKS' GPU node image), and then ``deploy_workloads``.

How Triton reads the container: Triton's ``as://`` agent (every pinned NGC release) accepts a
storage account key only. Keyless by default, so Triton reads a local mirror of the container
that an init container and a sidecar keep in step with workload identity
(``triton_platform/sidecars/azure_model_sync.py``). With ``modelRepository.staticKeys: true`` Triton
reads ``as://`` itself with the account key, kept in a Kubernetes Secret.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi_azure_native as azure

from components.azure.aks_cluster import AksCluster, AksClusterArgs, AksGpuPool, AksSystemPool
from components.azure.model_container import AzureModelContainer, AzureModelContainerArgs
from components.azure.workload_identity import AzureWorkloadIdentity, AzureWorkloadIdentityArgs
from components.gpu.gpu_operator import AKS_RUNTIME_CLASS, GpuOperator, GpuOperatorArgs
from stacks.common import (
    BUILDER_SERVICE_ACCOUNT,
    TRITON_SERVICE_ACCOUNT,
    CloudPlatform,
    ClusterBinding,
    StorageBinding,
    deep_merge,
    gateway_exposure,
    kubeconfig_path,
)
from stacks.release import builds_engines
from triton_platform.catalog import gpu
from triton_platform.catalog.versions import triton_image
from triton_platform.clouds import azure as az
from triton_platform.config import PlatformConfig
from triton_platform.publisher.stores import CredentialsRef, StoreRef
from triton_platform.publisher.stores.ref import release_locations_root
from triton_platform.sidecars import azure_model_sync
from triton_platform.values.autoscaling import gpu_node_template
from triton_platform.values.triton import gpu_placement

DEFAULT_CONTAINER = "triton-models"
SYSTEM_POOL_SELECTOR = {"kubernetes.azure.com/mode": "system"}


def provision(cfg: PlatformConfig, base_dir: Path) -> CloudPlatform:
    """AKS, the storage account and container, workload identities and the GPU operator for ``cfg``."""
    stack = pulumi.get_stack()
    tags = {"app": "triton-platform", "stack": stack, "cluster": cfg.cluster.name}
    provider = azure.Provider("azure", location=location_of(cfg))

    pool = cfg.cluster.gpu_node_pool
    spot = bool(pool and pool.spot)
    builds_in_cluster = cfg.builder == "kubernetes" and builds_engines(cfg)
    # Only the in-cluster engine builder reads a kubeconfig file; none is written otherwise.
    kubeconfig_file = kubeconfig_path(base_dir, "aks", cfg.cluster.name) if builds_in_cluster else None
    cluster = aks_cluster(cfg, provider, kubeconfig_file, tags)
    container = cfg.model_repository.bucket or DEFAULT_CONTAINER
    store = model_container(cfg, stack, provider, cluster, container, tags)
    identity = workload_identity(
        cfg, stack, provider, cluster, store, container, builder_enabled=builds_in_cluster, tags=tags
    )
    cluster_ready: list[pulumi.Resource] = list(cluster.ready)
    operator = gpu_operator(cfg, stack, cluster, spot=spot)
    if operator is not None:
        cluster_ready += operator.ready

    storage = storage_binding(cfg, store=store, identity=identity, container=container, spot=spot)
    return CloudPlatform(
        cluster=ClusterBinding.of(
            cluster,
            kubeconfig_path=kubeconfig_file,
            ready=cluster_ready,
            gpu_pool_tolerations=[dict(az.SPOT_TOLERATION)] if spot else [],
        ),
        storage=storage,
        outputs=platform_outputs(cfg, cluster, store, identity, container, storage),
        service_annotations=service_annotations(cfg),
        gateway_annotations=service_annotations(gateway_exposure(cfg)),
    )


def location_of(cfg: PlatformConfig) -> str:
    """The Azure region of every resource (``cluster.location``)."""
    location = cfg.cluster.location
    assert location is not None  # guaranteed by parse_config for cloud 'azure'
    return location


def aks_cluster(
    cfg: PlatformConfig, provider: azure.Provider, kubeconfig_file: str | None, tags: dict[str, str]
) -> AksCluster:
    """The AKS cluster: its resource group, system pool, GPU pool and who may reach its API."""
    c, repo = cfg.cluster, cfg.model_repository
    return AksCluster(
        c.name,
        AksClusterArgs(
            provider=provider,
            cluster_name=c.name,
            location=location_of(cfg),
            kubernetes_version=c.kubernetes_version,
            resource_group_name=c.resource_group,
            # The model storage account lives in this group: Azure would delete it with the group.
            retain_resource_group=repo.retain_on_delete,
            system_pool=system_pool(cfg),
            gpu_pool=gpu_pool(cfg),
            kubeconfig_path=kubeconfig_file,
            api_server_authorized_ip_ranges=list(c.api_access_cidrs or []),
            private_cluster=c.private_endpoint,
            local_accounts=c.aks.local_accounts,
            admin_group_object_ids=list(c.aks.admin_group_object_ids),
            # privateEndpoint: the nodes (and the API server's endpoint) go in a subnet the deployer reaches.
            vnet_subnet_id=c.aks.vnet_subnet_id,
            # cluster.access: Cluster User Role + AKS RBAC Cluster Admin / Reader per principal.
            admins=list(c.access.admins),
            viewers=list(c.access.viewers),
            tags=tags,
        ),
    )


def system_pool(cfg: PlatformConfig) -> AksSystemPool:
    """The AKS system pool of the config (the component's defaults when the config names none)."""
    system = cfg.cluster.system_node_pool
    if system is None:
        return AksSystemPool()
    return AksSystemPool(vm_size=system.machine_type, min_count=system.min_nodes, max_count=system.max_nodes)


def gpu_pool(cfg: PlatformConfig) -> AksGpuPool | None:
    """The AKS GPU pool of the config, partitioned by ``gpuInstanceProfile`` when MIG is asked for."""
    pool, g = cfg.cluster.gpu_node_pool, cfg.gpu
    if pool is None:
        return None
    return AksGpuPool(
        vm_size=pool.machine_type,
        min_count=pool.min_nodes,
        max_count=pool.max_nodes,
        os_disk_size_gb=pool.disk_size_gb,
        spot=pool.spot,
        gpu_instance_profile=az.gpu_instance_profile(g.mig_strategy, g.mig_profile),
        gpu_product=pool.gpu_product,
        node_template=gpu_node_template(cfg, gpu_placement(cfg)),
    )


def model_container(
    cfg: PlatformConfig,
    stack: str,
    provider: azure.Provider,
    cluster: AksCluster,
    container: str,
    tags: dict[str, str],
) -> AzureModelContainer:
    """The hardened storage account and the model container, in the cluster's resource group."""
    repo = cfg.model_repository
    return AzureModelContainer(
        f"{stack}-model-store",
        AzureModelContainerArgs(
            provider=provider,
            resource_group_name=cluster.resource_group_name,
            location=location_of(cfg),
            container_name=container,
            account_name_base=cfg.cluster.name,
            allow_shared_key_access=repo.static_keys,
            retain_on_delete=repo.retain_on_delete,
            tags=tags,
        ),
    )


def workload_identity(
    cfg: PlatformConfig,
    stack: str,
    provider: azure.Provider,
    cluster: AksCluster,
    store: AzureModelContainer,
    container: str,
    *,
    builder_enabled: bool,
    tags: dict[str, str],
) -> AzureWorkloadIdentity:
    """Keyless identities for Triton and the engine builder, federated with the cluster's OIDC issuer."""
    repo = cfg.model_repository
    return AzureWorkloadIdentity(
        f"{stack}-identity",
        AzureWorkloadIdentityArgs(
            provider=provider,
            resource_group_name=cluster.resource_group_name,
            location=location_of(cfg),
            name_prefix=cfg.cluster.name,
            oidc_issuer_url=cluster.oidc_issuer_url,
            namespace=cfg.triton.namespace,
            triton_service_account=TRITON_SERVICE_ACCOUNT,
            builder_service_account=BUILDER_SERVICE_ACCOUNT,
            triton_enabled=not repo.static_keys,
            builder_enabled=builder_enabled,
            storage_account_name=store.account_name,
            container_name=container,
            container_id=store.container_id,
            model_prefix=repo.prefix,
            cache_prefix=cfg.publisher.cache_prefix,
            # Canary pods mirror each release's own repository under <cache>/releases/served.
            release_locations_root=locations_root(cfg),
            static_keys=repo.static_keys,
            tags=tags,
        ),
    )


def gpu_operator(cfg: PlatformConfig, stack: str, cluster: AksCluster, *, spot: bool) -> GpuOperator | None:
    """The NVIDIA GPU operator (device plugin, GPU feature discovery) when there is a GPU pool."""
    if cfg.cluster.gpu_node_pool is None:
        return None
    return GpuOperator(
        f"{stack}-gpu-operator",
        GpuOperatorArgs(
            k8s_provider=cluster.provider,
            mig_strategy=cfg.gpu.mig_strategy,
            # AKS partitions GPUs itself (gpuInstanceProfile, fixed at pool creation).
            mig_manager_enabled=False,
            # The only NVIDIA runtime AKS GPU nodes define (not the operator's default "nvidia").
            runtime_class=AKS_RUNTIME_CLASS,
            time_slicing_replicas=cfg.gpu.time_slicing_replicas,
            # AKS GPU node images ship the NVIDIA driver and container toolkit.
            driver_enabled=False,
            toolkit_enabled=False,
            operator_node_selector=dict(SYSTEM_POOL_SELECTOR),
            tolerations=[dict(gpu.GPU_TOLERATION), *([dict(az.SPOT_TOLERATION)] if spot else [])],
        ),
        opts=pulumi.ResourceOptions(depends_on=list(cluster.ready)),
    )


def service_annotations(cfg: PlatformConfig) -> dict[str, str]:
    """Keep a LoadBalancer Service inside the virtual network unless a public one is asked for."""
    svc = cfg.triton.service
    if svc.type == "LoadBalancer" and svc.internal:
        return {az.INTERNAL_LB_ANNOTATION: "true"}
    return {}


def platform_outputs(
    cfg: PlatformConfig,
    cluster: AksCluster,
    store: AzureModelContainer,
    identity: AzureWorkloadIdentity,
    container: str,
    storage: StorageBinding,
) -> dict[str, Any]:
    """The Azure stack outputs beside the workloads': the group, issuer, account and identities."""
    outputs: dict[str, Any] = {
        "resourceGroup": cluster.resource_group_name,
        "oidcIssuerUrl": cluster.oidc_issuer_url,
        "storageAccount": store.account_name,
        "bucket": store.container_name,
        # as://account/container/prefix even when Triton reads the synced mirror (tritonRepositoryPath).
        "modelRepository": account_repository_uri(cfg, store, container),
        "tritonRepositoryPath": storage.repository_uri,
    }
    if identity.triton_client_id is not None:
        outputs["tritonIdentityClientId"] = identity.triton_client_id
    if identity.builder_client_id is not None:
        outputs["builderIdentityClientId"] = identity.builder_client_id
    return outputs


def account_repository_uri(cfg: PlatformConfig, store: AzureModelContainer, container: str) -> pulumi.Output[str]:
    """``as://<account>/<container>/<prefix>``: the model repository in the storage account."""
    prefix = cfg.model_repository.prefix
    return store.account_name.apply(lambda a: az.repository_uri(a, container, prefix))


def locations_root(cfg: PlatformConfig) -> str | None:
    """``<cache>/releases/served`` when releases roll out as canaries (Triton reads there), else None."""
    if cfg.triton.rollout.strategy != "canary":
        return None
    return release_locations_root(cfg.publisher.cache_prefix)


def publisher_store(cfg: PlatformConfig, store: AzureModelContainer, container: str) -> pulumi.Output[StoreRef]:
    """What the publisher gets: the container, prefixes and account URL; it signs in as the operator."""
    prefix, cache_prefix = cfg.model_repository.prefix, cfg.publisher.cache_prefix
    return store.account_url.apply(
        lambda url: StoreRef(
            kind="azure",
            bucket=container,
            prefix=prefix,
            cache_prefix=cache_prefix,
            account_url=url,
            # The publisher signs in as the operator running `pulumi up` (DefaultAzureCredential).
            credentials=CredentialsRef(source="environment"),
        )
    )


def storage_binding(
    cfg: PlatformConfig,
    *,
    store: AzureModelContainer,
    identity: AzureWorkloadIdentity,
    container: str,
    spot: bool,
) -> StorageBinding:
    """How Triton, the engine builder and the publisher reach the container.

    The engine builder always signs in with its workload identity; Triton either reads ``as://``
    with the account key (``modelRepository.staticKeys``) or a mirror its identity keeps in step.
    """
    builder_id = identity.builder_client_id
    binding = StorageBinding(
        repository_uri=az.SYNC_REPOSITORY,
        publisher_store=publisher_store(cfg, store, container),
        builder_service_account_annotations={az.CLIENT_ID_ANNOTATION: builder_id} if builder_id is not None else {},
        builder_pod_labels={az.WORKLOAD_IDENTITY_LABEL: "true"} if builder_id is not None else {},
        ready=[*store.ready, *identity.ready],
        # AKS taints spot nodes; Triton must tolerate it to land on a spot GPU pool.
        chart_values={"tolerations": [dict(az.SPOT_TOLERATION)]} if spot else {},
    )
    root = locations_root(cfg)
    if cfg.model_repository.static_keys:
        assert identity.static_key is not None  # created when static_keys is set
        return replace(
            binding,
            repository_uri=account_repository_uri(cfg, store, container),
            # as://<account>/<container>/<cache>/releases/served: Triton reads it with the key.
            locations_root_uri=store.account_name.apply(lambda a: az.repository_uri(a, container, root))
            if root
            else None,
            location_values=(lambda _key: {}) if root else None,
            env={"AZURE_STORAGE_ACCOUNT": store.account_name},
            credentials_env={"AZURE_STORAGE_KEY": identity.static_key},
        )

    assert identity.triton_client_id is not None  # created unless static_keys

    def sync(prefix: str, dest: str = az.SYNC_REPOSITORY, *, sidecar: bool) -> dict[str, Any]:
        return az.model_sync_values(
            image=triton_image(cfg.triton.version),
            script=azure_model_sync.source_text(),
            account=store.account_name,
            container=container,
            prefix=prefix,
            interval_seconds=cfg.triton.repository_poll_seconds,
            sidecar=sidecar,
            dest=dest,
        )

    return replace(
        binding,
        service_account_annotations={az.CLIENT_ID_ANNOTATION: identity.triton_client_id},
        pod_labels={az.WORKLOAD_IDENTITY_LABEL: "true"},
        chart_values=deep_merge(
            sync(cfg.model_repository.prefix, sidecar=cfg.triton.model_control_mode != "none"), binding.chart_values
        ),
        # Canary: a release's pods mirror <cache>/releases/served/<hex> (its own location, which the
        # identity's condition admits) to <mirror root>/<hex>, the path Triton then reads. Once, by the
        # init container: the location never changes and Triton loads it once (model control none).
        locations_root_uri=az.release_mirror(root) if root else None,
        location_values=(lambda key: sync(key, az.release_mirror(key), sidecar=False)) if root else None,
    )
