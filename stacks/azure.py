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

from pathlib import Path
from typing import Any

import pulumi
import pulumi_azure_native as azure

from components.azure.aks_cluster import AksCluster, AksClusterArgs, AksGpuPool, AksSystemPool
from components.azure.model_container import AzureModelContainer, AzureModelContainerArgs
from components.azure.workload_identity import AzureWorkloadIdentity, AzureWorkloadIdentityArgs
from components.gpu.gpu_operator import GpuOperator, GpuOperatorArgs
from stacks.common import (
    BUILDER_SERVICE_ACCOUNT,
    TRITON_SERVICE_ACCOUNT,
    CloudPlatform,
    ClusterBinding,
    StorageBinding,
    deep_merge,
    kubeconfig_path,
)
from stacks.release import builds_engines
from triton_platform.catalog import gpu
from triton_platform.catalog.versions import triton_image
from triton_platform.clouds import azure as az
from triton_platform.config.schema import PlatformConfig
from triton_platform.sidecars import azure_model_sync

DEFAULT_CONTAINER = "triton-models"
SYSTEM_POOL_SELECTOR = {"kubernetes.azure.com/mode": "system"}


def provision(cfg: PlatformConfig, base_dir: Path) -> CloudPlatform:
    """AKS, the storage account and container, workload identities and the GPU operator for ``cfg``."""
    assert cfg.cluster.location is not None  # guaranteed by parse_config for cloud 'azure'
    stack = pulumi.get_stack()
    c, g, repo = cfg.cluster, cfg.gpu, cfg.model_repository
    location = c.location
    tags = {"app": "triton-platform", "stack": stack, "cluster": c.name}
    provider = azure.Provider("azure", location=location)

    pool = c.gpu_node_pool
    spot = bool(pool and pool.spot)
    builds_in_cluster = cfg.builder == "kubernetes" and builds_engines(cfg)
    kubeconfig_file = kubeconfig_path(base_dir, "aks", c.name) if builds_in_cluster else None
    system = c.system_node_pool
    cluster = AksCluster(
        c.name,
        AksClusterArgs(
            provider=provider,
            cluster_name=c.name,
            location=location,
            kubernetes_version=c.kubernetes_version,
            resource_group_name=c.resource_group,
            # The model storage account lives in this group: Azure would delete it with the group.
            retain_resource_group=repo.retain_on_delete,
            system_pool=(
                AksSystemPool(vm_size=system.machine_type, min_count=system.min_nodes, max_count=system.max_nodes)
                if system
                else AksSystemPool()
            ),
            gpu_pool=(
                AksGpuPool(
                    vm_size=pool.machine_type,
                    min_count=pool.min_nodes,
                    max_count=pool.max_nodes,
                    os_disk_size_gb=pool.disk_size_gb,
                    spot=pool.spot,
                    gpu_instance_profile=az.gpu_instance_profile(g.mig_strategy, g.mig_profile),
                    gpu_product=pool.gpu_product,
                )
                if pool
                else None
            ),
            kubeconfig_path=kubeconfig_file,
            api_server_authorized_ip_ranges=list(c.api_access_cidrs or []),
            private_cluster=c.private_endpoint,
            local_accounts=c.aks.local_accounts,
            admin_group_object_ids=list(c.aks.admin_group_object_ids),
            tags=tags,
        ),
    )

    container = repo.bucket or DEFAULT_CONTAINER
    store = AzureModelContainer(
        f"{stack}-model-store",
        AzureModelContainerArgs(
            provider=provider,
            resource_group_name=cluster.resource_group_name,
            location=location,
            container_name=container,
            account_name_base=c.name,
            allow_shared_key_access=repo.static_keys,
            retain_on_delete=repo.retain_on_delete,
            tags=tags,
        ),
    )
    identity = AzureWorkloadIdentity(
        f"{stack}-identity",
        AzureWorkloadIdentityArgs(
            provider=provider,
            resource_group_name=cluster.resource_group_name,
            location=location,
            name_prefix=c.name,
            oidc_issuer_url=cluster.oidc_issuer_url,
            namespace=cfg.triton.namespace,
            triton_service_account=TRITON_SERVICE_ACCOUNT,
            builder_service_account=BUILDER_SERVICE_ACCOUNT,
            triton_enabled=not repo.static_keys,
            builder_enabled=builds_in_cluster,
            storage_account_name=store.account_name,
            container_name=container,
            container_id=store.container_id,
            model_prefix=repo.prefix,
            cache_prefix=cfg.publisher.cache_prefix,
            static_keys=repo.static_keys,
            tags=tags,
        ),
    )

    cluster_ready: list[pulumi.Resource] = list(cluster.ready)
    if pool is not None:
        operator = GpuOperator(
            f"{stack}-gpu-operator",
            GpuOperatorArgs(
                k8s_provider=cluster.provider,
                mig_strategy=g.mig_strategy,
                # AKS partitions GPUs itself (gpuInstanceProfile, fixed at pool creation).
                mig_manager_enabled=False,
                time_slicing_replicas=g.time_slicing_replicas,
                # AKS GPU node images ship the NVIDIA driver and container toolkit.
                driver_enabled=False,
                toolkit_enabled=False,
                operator_node_selector=dict(SYSTEM_POOL_SELECTOR),
                tolerations=[dict(gpu.GPU_TOLERATION), *([dict(az.SPOT_TOLERATION)] if spot else [])],
            ),
            opts=pulumi.ResourceOptions(depends_on=list(cluster.ready)),
        )
        cluster_ready += operator.ready

    storage = storage_binding(cfg, store=store, identity=identity, container=container, spot=spot)
    service_annotations = (
        {az.INTERNAL_LB_ANNOTATION: "true"}
        if cfg.triton.service.type == "LoadBalancer" and cfg.triton.service.internal
        else {}
    )
    outputs: dict[str, Any] = {
        "resourceGroup": cluster.resource_group_name,
        "oidcIssuerUrl": cluster.oidc_issuer_url,
        "storageAccount": store.account_name,
        "bucket": store.container_name,
        "modelRepository": store.account_name.apply(lambda a: az.repository_uri(a, container, repo.prefix)),
        "tritonRepositoryPath": storage.repository_uri,
    }
    if identity.triton_client_id is not None:
        outputs["tritonIdentityClientId"] = identity.triton_client_id
    if identity.builder_client_id is not None:
        outputs["builderIdentityClientId"] = identity.builder_client_id
    return CloudPlatform(
        cluster=ClusterBinding.of(
            cluster,
            kubeconfig_path=kubeconfig_file,
            ready=cluster_ready,
            gpu_pool_tolerations=[dict(az.SPOT_TOLERATION)] if spot else [],
        ),
        storage=storage,
        outputs=outputs,
        service_annotations=service_annotations,
    )


def storage_binding(
    cfg: PlatformConfig,
    *,
    store: AzureModelContainer,
    identity: AzureWorkloadIdentity,
    container: str,
    spot: bool,
) -> StorageBinding:
    """How Triton, the engine builder and the publisher reach the container."""
    repo = cfg.model_repository
    prefix, cache_prefix = repo.prefix, cfg.publisher.cache_prefix
    publisher_store = store.account_url.apply(
        lambda url: {
            "kind": "azure",
            "bucket": container,
            "prefix": prefix,
            "cache_prefix": cache_prefix,
            "endpoint_url": None,
            "region": None,
            "account_url": url,
            # The publisher signs in as the operator running `pulumi up` (DefaultAzureCredential).
            "credentials": {"source": "environment"},
        }
    )
    builder: dict[str, Any] = {}
    if identity.builder_client_id is not None:
        builder = {
            "builder_service_account_annotations": {az.CLIENT_ID_ANNOTATION: identity.builder_client_id},
            "builder_pod_labels": {az.WORKLOAD_IDENTITY_LABEL: "true"},
        }
    # AKS taints spot nodes; Triton must tolerate it to land on a spot GPU pool.
    chart_values: dict[str, Any] = {"tolerations": [dict(az.SPOT_TOLERATION)]} if spot else {}
    ready = [*store.ready, *identity.ready]

    if repo.static_keys:
        assert identity.static_key is not None  # created when static_keys is set
        return StorageBinding(
            repository_uri=store.account_name.apply(lambda a: az.repository_uri(a, container, prefix)),
            publisher_store=publisher_store,
            env={"AZURE_STORAGE_ACCOUNT": store.account_name},
            credentials_env={"AZURE_STORAGE_KEY": identity.static_key},
            ready=ready,
            chart_values=chart_values,
            **builder,
        )

    assert identity.triton_client_id is not None  # created unless static_keys
    sync = az.model_sync_values(
        image=triton_image(cfg.triton.version),
        script=azure_model_sync.source_text(),
        account=store.account_name,
        container=container,
        prefix=prefix,
        interval_seconds=cfg.triton.repository_poll_seconds,
        sidecar=cfg.triton.model_control_mode != "none",
    )
    return StorageBinding(
        repository_uri=az.SYNC_REPOSITORY,
        publisher_store=publisher_store,
        service_account_annotations={az.CLIENT_ID_ANNOTATION: identity.triton_client_id},
        pod_labels={az.WORKLOAD_IDENTITY_LABEL: "true"},
        ready=ready,
        chart_values=deep_merge(sync, chart_values),
        **builder,
    )
