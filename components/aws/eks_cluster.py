"""EksCluster: an EKS cluster with its VPC, node groups, IRSA OIDC provider and Kubernetes provider.

Provisions, all through the AWS provider passed in:

- a VPC across 2-3 availability zones: private subnets (nodes, pods, internal load balancers)
  and public subnets (NAT gateways, internet-facing load balancers), one NAT gateway per AZ
  (or a single one), route tables (``components.aws.eks_network``: plain functions that
  register them as children of this component, so their URNs are those of any other child);
- the cluster (access entries / API authentication, private endpoint, public endpoint narrowed
  to ``public_access_cidrs`` or turned off, control-plane
  logs to a CloudWatch group with a retention, Secrets envelope-encrypted with a KMS key);
- the cluster and node IAM roles, the IAM OIDC provider for IRSA;
- managed node groups: a system group (AL2023) and a GPU group on the EKS NVIDIA AMI
  (``AL2023_x86_64_NVIDIA``: driver and container toolkit preinstalled), tainted
  ``nvidia.com/gpu=present:NoSchedule`` and labelled ``nvidia.com/mig.config`` for mig-manager;
  given a ``node_template``, the GPU label and node-template tags cluster-autoscaler reads to
  scale the group up from zero (``components.aws.eks_node_template``);
- the EKS add-ons vpc-cni (NetworkPolicy enforcement on) and aws-ebs-csi-driver (each with
  its own IRSA role), kube-proxy and coredns;
- access entries for ``admins`` / ``viewers`` (AmazonEKSClusterAdminPolicy / AmazonEKSViewPolicy,
  scope cluster), the creator excepted (it holds the bootstrap entry; who it is, the cluster
  records at creation in its ``triton-platform/creator`` tag: ``_cluster_creator``); zones chosen by zone ID
  (``eks_network.plan_zones``), the GPU group only where its instance type is offered;
- a kubeconfig (secret; authenticates with ``aws eks get-token``, no credential inside) and
  the ``kubernetes.Provider`` every Kubernetes resource of the stack uses.

The constructor follows those sections (network, control plane and IRSA, add-ons and node
groups, access), each in its own function. Plain functions (kubeconfig, node labels, and
``subnet_plan`` from eks_network) are tested without Pulumi.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.aws.eks_network import ZonePlan, eks_vpc, subnet_plan, zone_plan
from components.aws.eks_node_template import autoscaler_tags, tag_autoscaling_group, template_node_labels
from components.aws.irsa_access import web_identity_trust_policy
from components.base import ComponentArgs
from components.kubeconfig_file import kubeconfig_file
from triton_platform.catalog import gpu
from triton_platform.clouds import access
from triton_platform.config import ipv4_cidr, is_open_to_internet, open_endpoint_warning
from triton_platform.values.autoscaling import NodeTemplate

# IAM validates EKS OIDC issuers against its own CA library; the API still takes a thumbprint:
# the root CA of oidc.eks.<region>.amazonaws.com (Starfield Services Root CA - G2).
EKS_OIDC_THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
# Our pool label (Triton and the engine builds select on it) and mig-manager's layout label.
POOL_LABEL = gpu.POOL_LABEL
MIG_CONFIG_LABEL = gpu.MIG_CONFIG_LABEL
SYSTEM_AMI = "AL2023_x86_64_STANDARD"
GPU_AMI = "AL2023_x86_64_NVIDIA"
CLUSTER_NAME = r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$"
LogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
DEFAULT_LOG_TYPES: tuple[LogType, ...] = ("api", "audit", "authenticator")
REGION = r"^[a-z]{2}(-[a-z]+)+-\d$"
# The vpc-cni add-on's configuration values: the keys of the aws-vpc-cni chart the add-on is
# built from (aws/amazon-vpc-cni-k8s charts/aws-vpc-cni/values.yaml: `enableNetworkPolicy`, a
# quoted string, default "false"; it sets the amazon-vpc-cni ConfigMap key
# enable-network-policy-controller and the node agent's --enable-network-policy flag).
# Without it EKS stores NetworkPolicies but nothing enforces them. Needs Kubernetes >= 1.25 and
# vpc-cni >= 1.14 with the node agent (nodeAgent.enabled, on by default).
VPC_CNI_CONFIGURATION: dict[str, Any] = {"enableNetworkPolicy": "true"}


class _Plain(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EksNodeGroupSpec(_Plain):
    """One managed node group."""

    instance_type: str = Field(min_length=1)
    min_size: int = Field(ge=0, le=1000)
    max_size: int = Field(ge=1, le=1000)
    # Nodes to start with; later changes (autoscaler, operators) are not reverted by Pulumi.
    desired_size: int = Field(ge=0, le=1000)
    disk_size_gb: int = Field(default=100, ge=20, le=16_384)
    spot: bool = False
    labels: dict[str, str] = Field(default_factory=dict)
    # What cluster-autoscaler must know to add the first node (values.autoscaling.gpu_node_template);
    # None: no node-template tags (the group must keep a node for the autoscaler to copy).
    node_template: NodeTemplate | None = None

    @model_validator(mode="after")
    def _bounds(self) -> EksNodeGroupSpec:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"need min_size <= desired_size <= max_size, got {self.min_size}/{self.desired_size}/{self.max_size}"
            )
        return self


class EksClusterArgs(ComponentArgs):
    """The cluster, its network and its node groups."""

    provider: pulumi.ProviderResource
    cluster_name: str = Field(pattern=CLUSTER_NAME)
    kubernetes_version: str = Field(pattern=r"^1\.\d{2}$")
    region: str = Field(pattern=REGION)
    vpc_cidr: str = "10.0.0.0/16"
    availability_zone_count: int = Field(default=3, ge=2, le=3)
    # One NAT gateway per AZ survives an AZ outage; a single one is cheaper.
    single_nat_gateway: bool = False
    # The private endpoint is always on (nodes use it). False turns the public one off: the API
    # is then reached from inside the VPC only, `pulumi up` included.
    endpoint_public_access: bool = True
    # Who may reach the public endpoint (vpc_config.public_access_cidrs); EKS's own default is
    # 0.0.0.0/0, which the component keeps but warns about.
    public_access_cidrs: list[str] = Field(default_factory=lambda: ["0.0.0.0/0"], min_length=1)
    # Networks (inside the VPC, or reaching it by VPN/peering) allowed to the private endpoint:
    # HTTPS ingress rules on the cluster security group, which otherwise admits the nodes only.
    private_access_cidrs: list[str] = Field(default_factory=list)
    log_types: list[LogType] = Field(default_factory=lambda: list(DEFAULT_LOG_TYPES))
    log_retention_days: int = Field(default=90, ge=1)
    system_node_group: EksNodeGroupSpec
    gpu_node_group: EksNodeGroupSpec | None = None
    # Where the kubeconfig is written for tools that run beside `pulumi up` (the engine builder).
    kubeconfig_path: str | None = None
    # IAM role/user ARNs granted the Kubernetes API through access entries (cluster.access).
    admins: list[str] = Field(default_factory=list)
    viewers: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _network(self) -> EksClusterArgs:
        subnet_plan(self.vpc_cidr, self.availability_zone_count)  # raises with the reason
        for cidr in [*self.public_access_cidrs, *self.private_access_cidrs]:
            ipv4_cidr(cidr)  # EKS takes IPv4 blocks only for an IPv4 cluster
        for arn in [*self.admins, *self.viewers]:
            if not access.EKS_PRINCIPAL.match(arn):
                raise ValueError(f"{arn!r} is not an IAM role or user ARN (e.g. {access.EKS_EXAMPLE!r})")
        return self


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token`` (no credential inside)."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "preferences": {},
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": [
                            "eks",
                            "get-token",
                            "--cluster-name",
                            cluster_name,
                            "--region",
                            region,
                            "--output",
                            "json",
                        ],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }
    return json.dumps(doc, indent=2)


def service_trust_policy(service: str) -> dict[str, Any]:
    """Trust policy for an AWS service principal (eks.amazonaws.com, ec2.amazonaws.com)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
        ],
    }


def gpu_node_labels(mig_config: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Labels of the GPU node group: the pool (what Triton selects), and the mig-parted layout when MIG is on."""
    labels = {**gpu.GPU_POOL_SELECTOR, **(extra or {})}
    if mig_config:
        labels[MIG_CONFIG_LABEL] = mig_config
    return labels


def _issuer(identities: Sequence[Any]) -> str:
    """The OIDC issuer URL out of the cluster's ``identities`` output."""
    issuer = identities[0].oidcs[0].issuer
    if not issuer:
        raise ValueError("the EKS cluster reports no OIDC issuer; IRSA needs one")
    return str(issuer)


@dataclass(frozen=True)
class _Children:
    """What every child of one EksCluster shares: its name, tags, options and the AWS partition."""

    component: pulumi.Resource
    name: str  # the component's name: children are f"{name}-<part>"
    cluster_name: str
    tags: dict[str, str]
    opts: pulumi.ResourceOptions  # parent=the component, provider=the AWS provider
    partition: pulumi.Output[str]

    @staticmethod
    def of(
        component: pulumi.Resource, name: str, args: EksClusterArgs, invoke: pulumi.InvokeOutputOptions
    ) -> _Children:
        return _Children(
            component=component,
            name=name,
            cluster_name=args.cluster_name,
            tags={**args.tags, "triton-platform/cluster": args.cluster_name},
            opts=pulumi.ResourceOptions(parent=component, provider=args.provider),
            partition=aws.get_partition_output(opts=invoke).partition,
        )

    def with_opts(self, **extra: Any) -> pulumi.ResourceOptions:
        """The children's options plus ``extra`` (depends_on, ignore_changes, ...)."""
        return pulumi.ResourceOptions.merge(self.opts, pulumi.ResourceOptions(**extra))

    def aws_policy(self, policy: str) -> pulumi.Output[str]:
        """The ARN of an AWS managed policy in this partition."""
        return pulumi.Output.concat("arn:", self.partition, ":iam::aws:policy/", policy)


# --------------------------------------------------------------------------- control plane


def _secrets_key(c: _Children, cluster_role: aws.iam.Role) -> tuple[aws.kms.Key, aws.iam.RolePolicy]:
    """The KMS key that envelope-encrypts Kubernetes Secrets, and the cluster role's use of it."""
    key = aws.kms.Key(
        f"{c.name}-secrets-key",
        description=f"Envelope encryption of Kubernetes Secrets in EKS cluster {c.cluster_name}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        tags=c.tags,
        opts=c.opts,
    )
    actions = ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]
    key_policy = aws.iam.RolePolicy(
        f"{c.name}-cluster-kms",
        role=cluster_role.id,
        policy=key.arn.apply(
            lambda arn: json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": arn}]}
            )
        ),
        opts=c.opts,
    )
    return key, key_policy


def _control_plane(
    c: _Children, args: EksClusterArgs, subnet_ids: list[pulumi.Output[str]], creator_tag: dict[str, str]
) -> aws.eks.Cluster:
    """The cluster role, the Secrets key, the log group and the EKS cluster itself (tagged with its creator)."""
    cluster_role = aws.iam.Role(
        f"{c.name}-cluster-role",
        assume_role_policy=json.dumps(service_trust_policy("eks.amazonaws.com")),
        tags=c.tags,
        opts=c.opts,
    )
    cluster_policy = aws.iam.RolePolicyAttachment(
        f"{c.name}-cluster-policy",
        role=cluster_role.name,
        policy_arn=c.aws_policy("AmazonEKSClusterPolicy"),
        opts=c.opts,
    )
    secrets_key, key_policy = _secrets_key(c, cluster_role)
    # EKS writes control-plane logs here; creating it first gives it a retention.
    log_group = aws.cloudwatch.LogGroup(
        f"{c.name}-logs",
        name=f"/aws/eks/{c.cluster_name}/cluster",
        retention_in_days=args.log_retention_days,
        tags=c.tags,
        opts=c.opts,
    )
    if args.endpoint_public_access and is_open_to_internet(args.public_access_cidrs):
        pulumi.log.warn(open_endpoint_warning(c.cluster_name), resource=c.component)
    return aws.eks.Cluster(
        f"{c.name}-eks",
        name=c.cluster_name,
        version=args.kubernetes_version,
        role_arn=cluster_role.arn,
        vpc_config=aws.eks.ClusterVpcConfigArgs(
            subnet_ids=subnet_ids,
            endpoint_private_access=True,
            endpoint_public_access=args.endpoint_public_access,
            public_access_cidrs=args.public_access_cidrs if args.endpoint_public_access else None,
        ),
        access_config=aws.eks.ClusterAccessConfigArgs(
            authentication_mode="API",
            # Whoever runs `pulumi up` administers the cluster it created (an access entry).
            bootstrap_cluster_creator_admin_permissions=True,
        ),
        enabled_cluster_log_types=list(args.log_types),
        encryption_config=aws.eks.ClusterEncryptionConfigArgs(
            provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
            resources=["secrets"],
        ),
        # Upgrade on the standard calendar instead of paying for extended support silently.
        upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
        # The creator (access.creator_tag) is recorded once: later runs by others keep the value
        # set at creation, and a cluster created before the tag existed never gets one (Pulumi
        # drops an ignored path the old inputs lack: PropertyPath.Reset).
        tags={**c.tags, **creator_tag},
        opts=c.with_opts(
            depends_on=[cluster_policy, key_policy, log_group],
            ignore_changes=[f'tags["{access.EKS_CREATOR_TAG}"]'],
        ),
    )


def _private_api_rules(
    c: _Children, cluster: aws.eks.Cluster, cidrs: list[str]
) -> list[aws.vpc.SecurityGroupIngressRule]:
    """HTTPS from ``cidrs`` to the private endpoint.

    The private endpoint's ENIs carry the cluster security group EKS creates; access to them
    from other sources is granted there ("You can further lock down access to specific VPC
    CIDR blocks through cluster security groups", AWS knowledge center eks-lock-api-access-IP-addresses).
    """
    cluster_sg = cluster.vpc_config.apply(lambda v: v.cluster_security_group_id or "")
    return [
        aws.vpc.SecurityGroupIngressRule(
            f"{c.name}-api-{i}",
            security_group_id=cluster_sg,
            cidr_ipv4=cidr,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description=f"Kubernetes API (private endpoint) from {cidr}",
            tags=c.tags,
            opts=c.opts,
        )
        for i, cidr in enumerate(cidrs)
    ]


# --------------------------------------------------------------------------- IRSA and add-ons


def _oidc_provider(c: _Children, issuer: pulumi.Output[str]) -> aws.iam.OpenIdConnectProvider:
    """The IAM OIDC provider for the cluster's issuer: what IRSA roles trust."""
    return aws.iam.OpenIdConnectProvider(
        f"{c.name}-oidc",
        url=issuer,
        client_id_lists=["sts.amazonaws.com"],
        thumbprint_lists=[EKS_OIDC_THUMBPRINT],
        tags=c.tags,
        opts=c.opts,
    )


@dataclass(frozen=True)
class _Addons:
    """The EKS add-ons of one cluster, with the IRSA roles of those that call AWS."""

    c: _Children
    cluster: aws.eks.Cluster
    oidc: aws.iam.OpenIdConnectProvider
    issuer: pulumi.Output[str]

    def irsa_role(self, part: str, account: str, policy: str) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
        """``<name>-<part>-role``: an IRSA role for kube-system/``account`` with one AWS managed policy."""
        c = self.c
        trust = pulumi.Output.all(self.oidc.arn, self.issuer).apply(
            lambda o: json.dumps(web_identity_trust_policy(o[0], o[1], "kube-system", account))
        )
        role = aws.iam.Role(f"{c.name}-{part}-role", assume_role_policy=trust, tags=c.tags, opts=c.opts)
        attach = aws.iam.RolePolicyAttachment(
            f"{c.name}-{part}-policy", role=role.name, policy_arn=c.aws_policy(policy), opts=c.opts
        )
        return role, attach

    def addon(self, part: str, addon_name: str, depends_on: list[pulumi.Resource], **extra: Any) -> aws.eks.Addon:
        return aws.eks.Addon(
            f"{self.c.name}-{part}",
            cluster_name=self.cluster.name,
            addon_name=addon_name,
            # Take over what EKS installed at creation; keep later edits made in the cluster.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            tags=self.c.tags,
            opts=self.c.with_opts(depends_on=depends_on),
            **extra,
        )

    def for_nodes(self) -> list[aws.eks.Addon]:
        """The add-ons nodes need to become Ready (created before the node groups): vpc-cni, kube-proxy."""
        cni_role, cni_attach = self.irsa_role("vpc-cni", "aws-node", "AmazonEKS_CNI_Policy")
        vpc_cni = self.addon(
            "vpc-cni",
            "vpc-cni",
            [cni_attach],
            service_account_role_arn=cni_role.arn,
            # Enforce the chart's NetworkPolicy (see VPC_CNI_CONFIGURATION).
            configuration_values=json.dumps(VPC_CNI_CONFIGURATION),
        )
        return [vpc_cni, self.addon("kube-proxy", "kube-proxy", [])]

    def on_nodes(self, system_nodes: aws.eks.NodeGroup) -> list[aws.eks.Addon]:
        """The add-ons that run as Deployments, so wait for the system nodes: coredns, the EBS CSI driver."""
        coredns = self.addon("coredns", "coredns", [system_nodes])
        ebs_role, ebs_attach = self.irsa_role(
            "ebs-csi", "ebs-csi-controller-sa", "service-role/AmazonEBSCSIDriverPolicy"
        )
        ebs_csi = self.addon(
            "ebs-csi",
            "aws-ebs-csi-driver",
            [ebs_attach, system_nodes],
            service_account_role_arn=ebs_role.arn,
            # Prometheus and Grafana volumes need a default StorageClass (gp3, encrypted).
            configuration_values=json.dumps({"defaultStorageClass": {"enabled": True}}),
        )
        return [coredns, ebs_csi]


# --------------------------------------------------------------------------- nodes


@dataclass(frozen=True)
class _NodeGroups:
    """Where one EksCluster's node groups go: the cluster, the node role, the private subnets."""

    c: _Children
    cluster: aws.eks.Cluster
    role: aws.iam.Role
    subnet_ids: list[pulumi.Output[str]]
    depends_on: list[pulumi.Resource]

    @staticmethod
    def create(
        c: _Children, cluster: aws.eks.Cluster, subnet_ids: list[pulumi.Output[str]], after: list[pulumi.Resource]
    ) -> _NodeGroups:
        """The node role and its policies; groups then wait for them and for ``after`` (add-ons)."""
        role = aws.iam.Role(
            f"{c.name}-node-role",
            assume_role_policy=json.dumps(service_trust_policy("ec2.amazonaws.com")),
            tags=c.tags,
            opts=c.opts,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{c.name}-node-{short}", role=role.name, policy_arn=c.aws_policy(policy), opts=c.opts
            )
            for short, policy in (
                ("worker", "AmazonEKSWorkerNodePolicy"),
                ("ecr", "AmazonEC2ContainerRegistryReadOnly"),
            )
        ]
        return _NodeGroups(c, cluster, role, subnet_ids, [*attachments, *after])

    def group(
        self,
        part: str,
        spec: EksNodeGroupSpec,
        pool: dict[str, str],
        ami: str,
        taints: list[dict[str, str]],
        subnet_ids: pulumi.Input[list[str]] | None = None,
    ) -> aws.eks.NodeGroup:
        """``<name>-<part>``: a managed node group labelled with its ``pool`` selector (+ its autoscaler tags)."""
        labels = {**pool, **spec.labels, **template_node_labels(spec.node_template)}
        group = aws.eks.NodeGroup(
            f"{self.c.name}-{part}",
            cluster_name=self.cluster.name,
            node_group_name=f"{self.c.cluster_name}-{part}",
            node_role_arn=self.role.arn,
            subnet_ids=subnet_ids if subnet_ids is not None else self.subnet_ids,
            ami_type=ami,
            instance_types=[spec.instance_type],
            capacity_type="SPOT" if spec.spot else "ON_DEMAND",
            disk_size=spec.disk_size_gb,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=spec.desired_size, min_size=spec.min_size, max_size=spec.max_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels=labels,
            taints=[aws.eks.NodeGroupTaintArgs(**t) for t in taints],
            tags=self.c.tags,
            opts=self.c.with_opts(
                depends_on=self.depends_on,
                # An autoscaler (or an operator) owns the current size after creation.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )
        if spec.node_template is not None:
            tags = autoscaler_tags(labels, taints, spec.node_template)
            tag_autoscaling_group(f"{self.c.name}-{part}", group, tags, self.c.opts)
        return group


# --------------------------------------------------------------------------- access


def _gpu_subnets(subnet_ids: list[pulumi.Output[str]], zones: pulumi.Output[ZonePlan]) -> pulumi.Output[list[str]]:
    """The private subnets in the zones that offer the GPU instance type (all of them, usually)."""
    return pulumi.Output.all(zones, *subnet_ids).apply(lambda a: [a[1 + i] for i in a[0].gpu_indexes])


def _cluster_creator(args: EksClusterArgs, invoke: pulumi.InvokeOptions, caller_arn: str) -> access.EksCreator:
    """Who holds the cluster's bootstrap admin entry: this run's caller if the cluster is new, else its tag.

    Plain invokes, at preview too (which entries to register must be known): aws.eks.getClusters
    (ListClusters: ``clusters``, the provider's ``names``) and, when the cluster exists,
    aws.eks.getCluster (DescribeCluster: ``cluster.tags``).
    """
    if args.cluster_name not in (aws.eks.get_clusters(opts=invoke).names or []):
        return access.eks_creator(args.cluster_name, caller_arn, None)
    tags = aws.eks.get_cluster(name=args.cluster_name, opts=invoke).tags or {}
    return access.eks_creator(args.cluster_name, caller_arn, dict(tags))


def _access_entries(
    c: _Children, cluster: aws.eks.Cluster, args: EksClusterArgs, creator: access.EksCreator
) -> list[pulumi.Resource]:
    """An access entry and an access policy association (scope ``cluster``) per ``admins``/``viewers`` ARN.

    aws.eks.AccessEntry (CreateAccessEntry: principalArn, type STANDARD) and
    aws.eks.AccessPolicyAssociation (AssociateAccessPolicy: policyArn, accessScope.type
    ``cluster``). The cluster's creator is skipped: it holds the bootstrap entry with the admin
    policy already, and a second entry fails (ResourceInUseException). Names follow the ARN,
    not its place in the list, so reordering the config replaces nothing.
    """
    granted: list[pulumi.Resource] = []
    for level, arns in (("admins", args.admins), ("viewers", args.viewers)):
        for arn in arns:
            if creator.created(arn):
                continue
            part = f"{c.name}-access-{hashlib.sha256(arn.encode()).hexdigest()[:8]}"
            entry = aws.eks.AccessEntry(
                part, cluster_name=cluster.name, principal_arn=arn, type="STANDARD", tags=c.tags, opts=c.opts
            )
            policy = pulumi.Output.concat(
                "arn:", c.partition, ":eks::aws:cluster-access-policy/", access.EKS_ACCESS_POLICIES[level]
            )
            granted.append(
                aws.eks.AccessPolicyAssociation(
                    f"{part}-policy",
                    cluster_name=cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=policy,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=c.opts,
                )
            )
    return granted


def _kubeconfig(cluster: aws.eks.Cluster, region: str) -> pulumi.Output[str]:
    """The cluster's kubeconfig (``aws eks get-token``), secret."""
    return pulumi.Output.secret(
        pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority).apply(
            lambda a: kubeconfig(a[0], a[1], a[2].data if hasattr(a[2], "data") else a[2]["data"], region)
        )
    )


# --------------------------------------------------------------------------- component


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster ready for Triton: network, nodes, IRSA and a Kubernetes provider."""

    cluster: aws.eks.Cluster
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]
    system_node_group: aws.eks.NodeGroup
    gpu_node_group: aws.eks.NodeGroup | None
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:aws:EksCluster", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=args.provider)
        c = _Children.of(self, name, args, invoke)
        # --- network (children of this component, named as before: see eks_network) ---
        gpu_type = args.gpu_node_group.instance_type if args.gpu_node_group is not None else None
        zones = zone_plan(args.availability_zone_count, invoke, gpu_instance_type=gpu_type, region=args.region)
        net = eks_vpc(
            name,
            cluster_name=args.cluster_name,
            vpc_cidr=args.vpc_cidr,
            az_count=args.availability_zone_count,
            single_nat_gateway=args.single_nat_gateway,
            tags=c.tags,
            opts=c.opts,
            zones=zones,
        )
        self.vpc_id = net.vpc.id
        self.private_subnet_ids = [s.id for s in net.private_subnets]
        self.public_subnet_ids = [s.id for s in net.public_subnets]

        # --- control plane and IRSA ---
        # Who runs `pulumi up` (a plain invoke: which entries exist must be known to register them).
        plain = pulumi.InvokeOptions(parent=self, provider=args.provider)
        caller_arn = aws.get_caller_identity(opts=plain).arn
        self.cluster = _control_plane(c, args, self.private_subnet_ids, access.creator_tag(caller_arn))
        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.oidc_issuer_url = self.cluster.identities.apply(_issuer)
        api_rules = _private_api_rules(c, self.cluster, args.private_access_cidrs)
        oidc = _oidc_provider(c, self.oidc_issuer_url)
        self.oidc_provider_arn = oidc.arn

        # --- add-ons and node groups ---
        addons = _Addons(c, self.cluster, oidc, self.oidc_issuer_url)
        groups = _NodeGroups.create(c, self.cluster, self.private_subnet_ids, after=addons.for_nodes())
        self.system_node_group = groups.group(
            "system", args.system_node_group, gpu.SYSTEM_POOL_SELECTOR, SYSTEM_AMI, []
        )
        self.gpu_node_group = None
        if args.gpu_node_group is not None:
            self.gpu_node_group = groups.group(
                "gpu",
                args.gpu_node_group,
                gpu.GPU_POOL_SELECTOR,
                GPU_AMI,
                [GPU_TAINT],
                # Only the zones whose ID offers the instance type (eks_network.plan_zones).
                subnet_ids=_gpu_subnets(self.private_subnet_ids, zones),
            )
        self.ready = [self.system_node_group, *addons.on_nodes(self.system_node_group), *api_rules]
        if self.gpu_node_group is not None:
            self.ready.append(self.gpu_node_group)

        # --- access ---
        creator = _cluster_creator(args, plain, caller_arn)
        if creator.warning and (args.admins or args.viewers):
            pulumi.log.warn(creator.warning, resource=self)
        grants = _access_entries(c, self.cluster, args, creator)
        self.ready += grants
        self.kubeconfig = _kubeconfig(self.cluster, args.region)
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            # The identities of cluster.access reach the API once their entries exist.
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )
        if args.kubeconfig_path:
            # The same kubeconfig on disk (mode 600) for tools running beside `pulumi up`.
            write = kubeconfig_file(name, args.kubeconfig_path, self.kubeconfig, parent=self, depends_on=[self.cluster])
            self.ready.append(write)
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidcProviderArn": self.oidc_provider_arn,
                "vpcId": self.vpc_id,
            }
        )
