"""EksCluster: an EKS cluster with its VPC, node groups, IRSA OIDC provider and Kubernetes provider.

Provisions, all through the AWS provider passed in:

- a VPC across 2-3 availability zones: private subnets (nodes, pods, internal load balancers)
  and public subnets (NAT gateways, internet-facing load balancers), one NAT gateway per AZ
  (or a single one), route tables;
- the cluster (access entries / API authentication, private endpoint, public endpoint narrowed
  to ``public_access_cidrs`` or turned off, control-plane
  logs to a CloudWatch group with a retention, Secrets envelope-encrypted with a KMS key);
- the cluster and node IAM roles, the IAM OIDC provider for IRSA;
- managed node groups: a system group (AL2023) and a GPU group on the EKS NVIDIA AMI
  (``AL2023_x86_64_NVIDIA``: driver and container toolkit preinstalled), tainted
  ``nvidia.com/gpu=present:NoSchedule`` and labelled ``nvidia.com/mig.config`` for mig-manager;
- the EKS add-ons vpc-cni (NetworkPolicy enforcement on) and aws-ebs-csi-driver (each with
  its own IRSA role), kube-proxy and coredns;
- a kubeconfig (secret; authenticates with ``aws eks get-token``, no credential inside) and
  the ``kubernetes.Provider`` every Kubernetes resource of the stack uses.

Plain functions (subnet plan, kubeconfig, node labels) are tested without Pulumi.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.aws.irsa_access import web_identity_trust_policy
from components.base import ComponentArgs
from components.kubeconfig_file import kubeconfig_file
from triton_platform.catalog import gpu
from triton_platform.config.rules.access import ipv4_cidr, is_open_to_internet, open_endpoint_warning

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
    tags: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _network(self) -> EksClusterArgs:
        subnet_plan(self.vpc_cidr, self.availability_zone_count)  # raises with the reason
        for cidr in [*self.public_access_cidrs, *self.private_access_cidrs]:
            ipv4_cidr(cidr)  # EKS takes IPv4 blocks only for an IPv4 cluster
        return self


def subnet_plan(vpc_cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Private and public subnet CIDRs, one of each per AZ.

    The VPC is cut in quarters: a quarter per AZ for private subnets (the VPC CNI gives every
    pod a VPC address, so they are large), the last quarter split into small public subnets
    that only hold NAT gateways and load balancers.
    """
    try:
        net = ipaddress.ip_network(vpc_cidr)
    except ValueError as exc:
        raise ValueError(f"vpc_cidr {vpc_cidr!r} is not a network (e.g. '10.0.0.0/16'): {exc}") from None
    if not isinstance(net, ipaddress.IPv4Network) or not 16 <= net.prefixlen <= 20:
        raise ValueError(f"vpc_cidr {vpc_cidr!r} must be an IPv4 network from /16 to /20 (e.g. '10.0.0.0/16')")
    if not 2 <= az_count <= 3:
        raise ValueError(f"availability_zone_count must be 2 or 3, got {az_count}")
    quarters = list(net.subnets(new_prefix=net.prefixlen + 2))
    public = list(quarters[3].subnets(new_prefix=net.prefixlen + 5))
    return [str(q) for q in quarters[:az_count]], [str(p) for p in public[:az_count]]


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


def _zone_picker(index: int, wanted: int) -> Callable[[list[str]], str]:
    """The ``index``-th availability zone of the region, failing clearly when it has too few."""

    def pick(names: list[str]) -> str:
        if len(names) < wanted:
            raise ValueError(
                f"the region offers {len(names)} availability zones ({', '.join(names)}); the cluster needs {wanted}"
            )
        return names[index]

    return pick


def _issuer(identities: Sequence[Any]) -> str:
    """The OIDC issuer URL out of the cluster's ``identities`` output."""
    issuer = identities[0].oidcs[0].issuer
    if not issuer:
        raise ValueError("the EKS cluster reports no OIDC issuer; IRSA needs one")
    return str(issuer)


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
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=args.provider)
        cname = args.cluster_name
        tags = {**args.tags, "triton-platform/cluster": cname}
        partition = aws.get_partition_output(opts=invoke).partition

        def aws_policy(policy: str) -> pulumi.Output[str]:
            return pulumi.Output.concat("arn:", partition, ":iam::aws:policy/", policy)

        # --- network --------------------------------------------------------------------
        private_cidrs, public_cidrs = subnet_plan(args.vpc_cidr, args.availability_zone_count)
        zones = aws.get_availability_zones_output(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=invoke,
        ).names
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"{cname}-vpc"},
            opts=child,
        )
        self.vpc_id = vpc.id
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{cname}-igw"}, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={**tags, "Name": f"{cname}-public"},
            opts=child,
        )
        # Load balancer subnet discovery (in-tree controller and AWS Load Balancer Controller).
        cluster_tag = {f"kubernetes.io/cluster/{cname}": "shared"}
        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        nat_gateways: list[aws.ec2.NatGateway] = []
        for i in range(args.availability_zone_count):
            az = zones.apply(_zone_picker(i, args.availability_zone_count))
            pub = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**tags, **cluster_tag, "Name": f"{cname}-public-{i}", "kubernetes.io/role/elb": "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}-rta", subnet_id=pub.id, route_table_id=public_rt.id, opts=child
            )
            public_subnets.append(pub)
            if i == 0 or not args.single_nat_gateway:
                eip = aws.ec2.Eip(
                    f"{name}-nat-{i}-eip", domain="vpc", tags={**tags, "Name": f"{cname}-nat-{i}"}, opts=child
                )
                nat_gateways.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{i}",
                        allocation_id=eip.id,
                        subnet_id=pub.id,
                        tags={**tags, "Name": f"{cname}-nat-{i}"},
                        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[igw])),
                    )
                )
            priv = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                cidr_block=private_cidrs[i],
                availability_zone=az,
                tags={**tags, **cluster_tag, "Name": f"{cname}-private-{i}", "kubernetes.io/role/internal-elb": "1"},
                opts=child,
            )
            nat = nat_gateways[i] if not args.single_nat_gateway else nat_gateways[0]
            rt = aws.ec2.RouteTable(
                f"{name}-private-{i}-rt",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={**tags, "Name": f"{cname}-private-{i}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}-rta", subnet_id=priv.id, route_table_id=rt.id, opts=child
            )
            private_subnets.append(priv)
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.public_subnet_ids = [s.id for s in public_subnets]

        # --- control plane --------------------------------------------------------------
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=json.dumps(service_trust_policy("eks.amazonaws.com")),
            tags=tags,
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=cluster_role.name,
            policy_arn=aws_policy("AmazonEKSClusterPolicy"),
            opts=child,
        )
        secrets_key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"Envelope encryption of Kubernetes Secrets in EKS cluster {cname}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        key_policy = aws.iam.RolePolicy(
            f"{name}-cluster-kms",
            role=cluster_role.id,
            policy=secrets_key.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                                "Resource": arn,
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        # EKS writes control-plane logs here; creating it first gives it a retention.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/eks/{cname}/cluster",
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        if args.endpoint_public_access and is_open_to_internet(args.public_access_cidrs):
            pulumi.log.warn(open_endpoint_warning(cname), resource=self)
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=cname,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=self.private_subnet_ids,
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
            tags=tags,
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[cluster_policy, key_policy, log_group])
            ),
        )
        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.oidc_issuer_url = self.cluster.identities.apply(_issuer)
        # The private endpoint's ENIs carry the cluster security group EKS creates; access to
        # them from other sources is granted there ("You can further lock down access to
        # specific VPC CIDR blocks through cluster security groups", AWS knowledge center
        # eks-lock-api-access-IP-addresses).
        cluster_sg = self.cluster.vpc_config.apply(lambda v: v.cluster_security_group_id or "")
        api_rules = [
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-{i}",
                security_group_id=cluster_sg,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description=f"Kubernetes API (private endpoint) from {cidr}",
                tags=tags,
                opts=child,
            )
            for i, cidr in enumerate(args.private_access_cidrs)
        ]
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=self.oidc_issuer_url,
            client_id_lists=["sts.amazonaws.com"],
            thumbprint_lists=[EKS_OIDC_THUMBPRINT],
            tags=tags,
            opts=child,
        )
        self.oidc_provider_arn = oidc.arn

        def irsa_role(
            part: str, namespace: str, service_account: str, policy: str
        ) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
            trust = pulumi.Output.all(oidc.arn, self.oidc_issuer_url).apply(
                lambda o: json.dumps(web_identity_trust_policy(o[0], o[1], namespace, service_account))
            )
            role = aws.iam.Role(f"{name}-{part}-role", assume_role_policy=trust, tags=tags, opts=child)
            attach = aws.iam.RolePolicyAttachment(
                f"{name}-{part}-policy", role=role.name, policy_arn=aws_policy(policy), opts=child
            )
            return role, attach

        def addon(part: str, addon_name: str, depends_on: list[pulumi.Resource], **extra: Any) -> aws.eks.Addon:
            return aws.eks.Addon(
                f"{name}-{part}",
                cluster_name=self.cluster.name,
                addon_name=addon_name,
                # Take over what EKS installed at creation; keep later edits made in the cluster.
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="PRESERVE",
                tags=tags,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=depends_on)),
                **extra,
            )

        # --- add-ons the nodes need to become Ready (before the node groups) --------------
        cni_role, cni_attach = irsa_role("vpc-cni", "kube-system", "aws-node", "AmazonEKS_CNI_Policy")
        vpc_cni = addon(
            "vpc-cni",
            "vpc-cni",
            [cni_attach],
            service_account_role_arn=cni_role.arn,
            # Enforce the chart's NetworkPolicy (see VPC_CNI_CONFIGURATION).
            configuration_values=json.dumps(VPC_CNI_CONFIGURATION),
        )
        kube_proxy = addon("kube-proxy", "kube-proxy", [])

        # --- nodes ----------------------------------------------------------------------
        node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=json.dumps(service_trust_policy("ec2.amazonaws.com")),
            tags=tags,
            opts=child,
        )
        node_attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{short}", role=node_role.name, policy_arn=aws_policy(policy), opts=child
            )
            for short, policy in (
                ("worker", "AmazonEKSWorkerNodePolicy"),
                ("ecr", "AmazonEC2ContainerRegistryReadOnly"),
            )
        ]
        node_deps: list[pulumi.Resource] = [*node_attachments, vpc_cni, kube_proxy]

        def node_group(part: str, spec: EksNodeGroupSpec, ami: str, taints: list[dict[str, str]]) -> aws.eks.NodeGroup:
            return aws.eks.NodeGroup(
                f"{name}-{part}",
                cluster_name=self.cluster.name,
                node_group_name=f"{cname}-{part}",
                node_role_arn=node_role.arn,
                subnet_ids=self.private_subnet_ids,
                ami_type=ami,
                instance_types=[spec.instance_type],
                capacity_type="SPOT" if spec.spot else "ON_DEMAND",
                disk_size=spec.disk_size_gb,
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    desired_size=spec.desired_size, min_size=spec.min_size, max_size=spec.max_size
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                labels=spec.labels,
                taints=[aws.eks.NodeGroupTaintArgs(**t) for t in taints],
                tags=tags,
                opts=pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(
                        depends_on=node_deps,
                        # An autoscaler (or an operator) owns the current size after creation.
                        ignore_changes=["scalingConfig.desiredSize"],
                    ),
                ),
            )

        system_spec = args.system_node_group.model_copy(
            update={"labels": {**gpu.SYSTEM_POOL_SELECTOR, **args.system_node_group.labels}}
        )
        self.system_node_group = node_group("system", system_spec, SYSTEM_AMI, [])
        self.gpu_node_group = None
        if args.gpu_node_group is not None:
            gpu_spec = args.gpu_node_group.model_copy(
                update={"labels": {**gpu.GPU_POOL_SELECTOR, **args.gpu_node_group.labels}}
            )
            self.gpu_node_group = node_group("gpu", gpu_spec, GPU_AMI, [GPU_TAINT])

        # --- add-ons that run as Deployments (need nodes) --------------------------------
        coredns = addon("coredns", "coredns", [self.system_node_group])
        ebs_role, ebs_attach = irsa_role(
            "ebs-csi", "kube-system", "ebs-csi-controller-sa", "service-role/AmazonEBSCSIDriverPolicy"
        )
        ebs_csi = addon(
            "ebs-csi",
            "aws-ebs-csi-driver",
            [ebs_attach, self.system_node_group],
            service_account_role_arn=ebs_role.arn,
            # Prometheus and Grafana volumes need a default StorageClass (gp3, encrypted).
            configuration_values=json.dumps({"defaultStorageClass": {"enabled": True}}),
        )

        # --- access -----------------------------------------------------------------------
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority).apply(
                lambda a: kubeconfig(a[0], a[1], a[2].data if hasattr(a[2], "data") else a[2]["data"], args.region)
            )
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ready = [self.system_node_group, coredns, ebs_csi, *api_rules]
        if self.gpu_node_group is not None:
            self.ready.append(self.gpu_node_group)
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
