"""The AWS stack: EKS + S3 + IRSA + the NVIDIA GPU operator, then monitoring, models and Triton.

Keyless by default: Triton's ServiceAccount assumes a read-only role on the model prefix and
the engine builder's ServiceAccount a role that writes the cache prefix (IRSA). Static keys
exist only when ``modelRepository.staticKeys`` is true. The publisher runs where ``pulumi up``
runs and uses that operator's own AWS credentials (boto3's default chain).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.aws.eks_cluster import EksCluster, EksClusterArgs, EksNodeGroupSpec, gpu_node_labels
from components.aws.irsa_access import IrsaModelAccess, IrsaModelAccessArgs
from components.aws.s3_model_bucket import S3ModelBucket, S3ModelBucketArgs
from components.gpu.gpu_operator import GpuOperator, GpuOperatorArgs
from stacks.common import (
    BUILDER_SERVICE_ACCOUNT,
    TRITON_SERVICE_ACCOUNT,
    CloudPlatform,
    ClusterBinding,
    StorageBinding,
    gateway_exposure,
    kubeconfig_path,
)
from triton_platform.catalog import gpu
from triton_platform.config import PlatformConfig, SystemNodePool
from triton_platform.publisher.stores import StoreRef
from triton_platform.publisher.stores.ref import join_key, release_locations_root
from triton_platform.values.autoscaling import gpu_node_template
from triton_platform.values.triton import gpu_placement

# Two nodes so coredns, the GPU operator, Prometheus and Grafana survive a node replacement.
DEFAULT_SYSTEM_POOL = SystemNodePool(machine_type="m6i.xlarge", min_nodes=2, max_nodes=4)
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
LB_TYPE = "service.beta.kubernetes.io/aws-load-balancer-type"
LB_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
LB_INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"


def service_annotations(cfg: PlatformConfig) -> dict[str, str]:
    """Triton's Service on EKS: a Network Load Balancer, internal unless asked otherwise.

    ``aws-load-balancer-scheme`` is read by the AWS Load Balancer Controller,
    ``aws-load-balancer-internal`` by EKS's built-in service controller; both are set so the
    scheme holds whichever controller reconciles the Service.
    """
    svc = cfg.triton.service
    if svc.type != "LoadBalancer":
        return {}
    annotations = {LB_TYPE: "nlb", LB_SCHEME: "internal" if svc.internal else "internet-facing"}
    if svc.internal:
        annotations[LB_INTERNAL] = "true"
    return annotations


def bucket_name_prefix(cfg: PlatformConfig, stack: str) -> str:
    """``<cluster>-<stack>-models``, cut to leave room for the random suffix (S3: 63 chars)."""
    raw = re.sub(r"[^a-z0-9-]+", "-", f"{cfg.cluster.name}-{stack}-models".lower()).strip("-")
    return raw[:53].rstrip("-") or "triton-models"


def store_ref(cfg: PlatformConfig, bucket: str) -> StoreRef:
    """What the publisher gets: the bucket, prefixes and region; credentials from its environment."""
    return StoreRef(
        kind="s3",
        bucket=bucket,
        prefix=cfg.model_repository.prefix,
        cache_prefix=cfg.publisher.cache_prefix,
        region=cfg.cluster.region,
    )


def node_groups(cfg: PlatformConfig) -> tuple[EksNodeGroupSpec, EksNodeGroupSpec | None]:
    """The system and GPU managed node groups of a stack config."""
    system = cfg.cluster.system_node_pool or DEFAULT_SYSTEM_POOL
    system_spec = EksNodeGroupSpec(
        instance_type=system.machine_type,
        min_size=system.min_nodes,
        max_size=system.max_nodes,
        desired_size=system.min_nodes,
        disk_size_gb=50,
    )
    pool = cfg.cluster.gpu_node_pool
    if pool is None:
        return system_spec, None
    place = gpu_placement(cfg)
    gpu_spec = EksNodeGroupSpec(
        instance_type=pool.machine_type,
        min_size=pool.min_nodes,
        max_size=pool.max_nodes,
        # Start with one node even when minNodes is 0: engines are built and Triton is
        # scheduled on this pool during `pulumi up`.
        desired_size=max(pool.min_nodes, 1),
        disk_size_gb=pool.disk_size_gb,
        spot=pool.spot,
        labels=gpu_node_labels(place.mig_config_label),
        # What cluster-autoscaler's template node of an empty group offers (scale from zero).
        node_template=gpu_node_template(cfg, place),
    )
    return system_spec, gpu_spec


def provision(cfg: PlatformConfig, base_dir: Path) -> CloudPlatform:
    """EKS, the S3 bucket, IRSA roles, the cluster autoscaler and the GPU operator for ``cfg``."""
    stack = pulumi.get_stack()
    region = cfg.cluster.region
    if region is None:  # parse_config guarantees it; keeps the type checker honest too
        raise ValueError("triton-platform:cluster.region is required for cloud 'aws' (example: 'us-east-1')")
    tags = {"triton-platform/stack": stack, "triton-platform/cluster": cfg.cluster.name}
    provider = aws.Provider("aws", region=region, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))

    kubeconfig_file = kubeconfig_path(base_dir, "eks", cfg.cluster.name)
    cluster = eks_cluster(cfg, provider, region, kubeconfig_file)
    bucket, access = model_bucket_and_access(cfg, stack, provider, cluster)
    # Triton waits for the cluster and its add-ons: the autoscaler (a replica the HPA adds gets
    # a node) and the GPU operator (the GPUs are advertised).
    cluster_ready: list[pulumi.Resource] = list(cluster.ready)
    autoscaler = cluster_autoscaler(cfg, stack, provider, region, cluster)
    if autoscaler is not None:
        cluster_ready.append(autoscaler)
    operator = gpu_operator(cfg, stack, cluster)
    if operator is not None:
        cluster_ready += operator.ready

    outputs = platform_outputs(region, cluster, bucket, access)
    if operator is not None:
        outputs["gpuOperatorNamespace"] = operator.namespace
    return CloudPlatform(
        cluster=ClusterBinding.of(cluster, kubeconfig_path=kubeconfig_file, ready=cluster_ready),
        storage=storage_binding(cfg, region, bucket, access),
        outputs=outputs,
        service_annotations=service_annotations(cfg),
        gateway_annotations=service_annotations(gateway_exposure(cfg)),
    )


def eks_cluster(cfg: PlatformConfig, provider: aws.Provider, region: str, kubeconfig_file: str) -> EksCluster:
    """The EKS cluster: its VPC, control plane, system and GPU node groups, and API access."""
    system_spec, gpu_spec = node_groups(cfg)
    return EksCluster(
        cfg.cluster.name,
        EksClusterArgs(
            provider=provider,
            cluster_name=cfg.cluster.name,
            kubernetes_version=cfg.cluster.kubernetes_version,
            region=region,
            system_node_group=system_spec,
            gpu_node_group=gpu_spec,
            kubeconfig_path=kubeconfig_file,
            # cluster.apiAccessCidrs / cluster.privateEndpoint (left out: EKS's own 0.0.0.0/0, warned).
            endpoint_public_access=not cfg.cluster.private_endpoint,
            public_access_cidrs=list(cfg.cluster.api_access_cidrs or ["0.0.0.0/0"]),
            private_access_cidrs=list(cfg.cluster.api_access_cidrs or []) if cfg.cluster.private_endpoint else [],
            # cluster.access: access entries for the CI roles and people (the creator has one already).
            admins=list(cfg.cluster.access.admins),
            viewers=list(cfg.cluster.access.viewers),
        ),
    )


def model_bucket_and_access(
    cfg: PlatformConfig, stack: str, provider: aws.Provider, cluster: EksCluster
) -> tuple[S3ModelBucket, IrsaModelAccess]:
    """The S3 model bucket and the IRSA roles (or opted-in static keys) that read and write it."""
    repo = cfg.model_repository
    bucket = S3ModelBucket(
        f"{stack}-models",
        S3ModelBucketArgs(
            provider=provider,
            bucket_name=repo.bucket,
            name_prefix=bucket_name_prefix(cfg, stack),
            retain_on_delete=repo.retain_on_delete,
        ),
    )
    access = IrsaModelAccess(
        f"{stack}-model-access",
        IrsaModelAccessArgs(
            provider=provider,
            bucket_arn=bucket.arn,
            prefix=repo.prefix,
            cache_prefix=cfg.publisher.cache_prefix,
            # Canary pods read each release's own repository under <cache>/releases/served.
            release_locations_root=locations_root(cfg),
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer_url=cluster.oidc_issuer_url,
            namespace=cfg.triton.namespace,
            reader_service_account=TRITON_SERVICE_ACCOUNT,
            writer_service_account=BUILDER_SERVICE_ACCOUNT,
            static_keys=repo.static_keys,
        ),
    )
    return bucket, access


def cluster_autoscaler(
    cfg: PlatformConfig, stack: str, provider: aws.Provider, region: str, cluster: EksCluster
) -> ClusterAutoscaler | None:
    """The cluster autoscaler, when there is a GPU pool or Triton autoscales: node groups follow the pods."""
    if cfg.cluster.gpu_node_pool is None and not cfg.triton.autoscaling.enabled:
        return None
    return ClusterAutoscaler(
        f"{stack}-cluster-autoscaler",
        ClusterAutoscalerArgs(
            aws_provider=provider,
            k8s_provider=cluster.provider,
            cluster_name=cluster.cluster_name,
            region=region,
            oidc_provider_arn=cluster.oidc_provider_arn,
            oidc_issuer_url=cluster.oidc_issuer_url,
            kubernetes_version=cfg.cluster.kubernetes_version,
        ),
        opts=pulumi.ResourceOptions(depends_on=list(cluster.ready)),
    )


def gpu_operator(cfg: PlatformConfig, stack: str, cluster: EksCluster) -> GpuOperator | None:
    """The NVIDIA GPU operator (device plugin, GPU feature discovery, mig-manager) when a GPU is asked for."""
    product = gpu.find_product(cfg.gpu_product) if cfg.gpu_product else None
    if product is None:
        return None
    return GpuOperator(
        f"{stack}-gpu-operator",
        GpuOperatorArgs(
            k8s_provider=cluster.provider,
            mig_strategy=cfg.gpu.mig_strategy,
            # mig-manager partitions MIG-capable GPUs from the node label; harmless elsewhere.
            mig_manager_enabled=product.supports_mig,
            # A MIG mode change needs a GPU reset that EC2 does not allow: mig-manager reboots.
            mig_manager_reboot=product.supports_mig,
            time_slicing_replicas=cfg.gpu.time_slicing_replicas,
            # The EKS NVIDIA AMI ships the driver and the container toolkit.
            driver_enabled=False,
            toolkit_enabled=False,
            operator_node_selector={"triton-platform/pool": "system"},
        ),
        opts=pulumi.ResourceOptions(depends_on=list(cluster.ready)),
    )


def locations_root(cfg: PlatformConfig) -> str | None:
    """``<cache>/releases/served`` when releases roll out as canaries (Triton reads there), else None."""
    if cfg.triton.rollout.strategy != "canary":
        return None
    return release_locations_root(cfg.publisher.cache_prefix)


def storage_binding(cfg: PlatformConfig, region: str, bucket: S3ModelBucket, access: IrsaModelAccess) -> StorageBinding:
    """How Triton (IRSA, or opted-in static keys), the engine builder (IRSA) and the publisher reach the bucket."""
    credentials_env: dict[str, pulumi.Output[str]] | None = None
    sa_annotations: dict[str, pulumi.Input[str]] = {ROLE_ARN_ANNOTATION: access.reader_role_arn}
    if cfg.model_repository.static_keys and access.access_key_id is not None and access.secret_access_key is not None:
        # Opted in: Triton reads keys from a Secret (deploy_workloads creates it) instead of IRSA.
        credentials_env = {"AWS_ACCESS_KEY_ID": access.access_key_id, "AWS_SECRET_ACCESS_KEY": access.secret_access_key}
        sa_annotations = {}

    store = bucket.bucket_name.apply(lambda b: store_ref(cfg, b))
    root = locations_root(cfg)
    return StorageBinding(
        repository_uri=store.apply(lambda s: s.repository_uri()),
        # s3://<bucket>/<cache>/releases/served, as repository_uri (Triton's S3 path syntax).
        locations_root_uri=bucket.bucket_name.apply(lambda b: f"s3://{join_key(b, root)}") if root else None,
        # Nothing else changes per release: IRSA (or the static key) already reads the root.
        location_values=(lambda _key: {}) if root else None,
        publisher_store=store,
        env={"AWS_DEFAULT_REGION": region, "AWS_REGION": region},
        credentials_env=credentials_env,
        service_account_annotations=sa_annotations,
        # The engine builder stays keyless even when Triton uses static keys.
        builder_service_account_annotations={ROLE_ARN_ANNOTATION: access.writer_role_arn},
        ready=[*bucket.ready, *access.ready],
    )


def platform_outputs(
    region: str, cluster: EksCluster, bucket: S3ModelBucket, access: IrsaModelAccess
) -> dict[str, Any]:
    """The AWS stack outputs beside the workloads': where the cluster, bucket and roles are."""
    return {
        "region": region,
        "clusterEndpoint": cluster.endpoint,
        "vpcId": cluster.vpc_id,
        "bucket": bucket.bucket_name,
        "oidcProviderArn": cluster.oidc_provider_arn,
        "tritonReaderRoleArn": access.reader_role_arn,
        "engineBuilderRoleArn": access.writer_role_arn,
    }
