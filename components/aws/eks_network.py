"""The VPC an EksCluster runs in, registered as children of the cluster component.

Provisions, through the AWS provider in the options passed in: a VPC across 2-3 availability
zones, an internet gateway, per AZ a small public subnet (NAT gateways, internet-facing load
balancers) and a large private one (nodes, pods, internal load balancers), one NAT gateway per
AZ (or a single one) and the route tables. Every resource keeps the name and parent it had
when EksCluster created it inline (``<name>-vpc``, ``<name>-public-<i>`` ...): moving them
here changes no URN. ``subnet_plan`` is the pure address plan, tested without Pulumi.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class EksVpc:
    """What the cluster needs of its network."""

    vpc: aws.ec2.Vpc
    private_subnets: list[aws.ec2.Subnet]
    public_subnets: list[aws.ec2.Subnet]


@dataclass(frozen=True)
class _Scope:
    name: str  # the cluster component's name: resources are f"{name}-<part>"
    cluster_name: str
    tags: dict[str, str]
    opts: pulumi.ResourceOptions  # parent=the cluster component, provider=the AWS provider


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


# Zone IDs where EKS refuses control-plane subnets (EKS user guide, "View Amazon EKS networking
# requirements for VPC and subnets": "us-east-1 use1-az3, us-west-1 usw1-az2, ca-central-1
# cac1-az3"). Zone names map to different IDs in each account, so the check is on the ID.
EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})


@dataclass(frozen=True)
class ZonePlan:
    """The zones the cluster's subnets go to, in subnet order, and those the GPU group may use."""

    names: list[str]
    ids: list[str]
    gpu_indexes: list[int]  # indexes into names/ids where the GPU instance type is offered


def plan_zones(
    names: list[str],
    zone_ids: list[str],
    count: int,
    *,
    gpu_zone_ids: list[str] | None = None,
    gpu_instance_type: str = "",
    region: str = "",
) -> ZonePlan:
    """The first ``count`` zones EKS accepts (the region's order, as before), and where the GPU type is.

    ``names``/``zone_ids`` are getAvailabilityZones' parallel lists; ``gpu_zone_ids`` the zone ids
    DescribeInstanceTypeOfferings reports for the GPU instance type (None: no GPU group). When
    none of the first zones offers the GPU type but another accepted zone does, that zone takes
    the last place, so the GPU group has a subnet; a type offered in no accepted zone is an error.
    """
    allowed = [(n, z) for n, z in zip(names, zone_ids, strict=True) if z not in EKS_UNSUPPORTED_ZONE_IDS]
    if len(allowed) < count:
        listed = ", ".join(f"{n} ({z})" for n, z in zip(names, zone_ids, strict=True))
        raise ValueError(
            f"the region offers {len(allowed)} availability zones EKS accepts for cluster subnets "
            f"(of {listed}); the cluster needs {count}"
        )
    chosen = allowed[:count]
    gpu_indexes: list[int] = []
    if gpu_zone_ids is not None:
        offered = set(gpu_zone_ids)
        gpu_indexes = [i for i, (_, z) in enumerate(chosen) if z in offered]
        if not gpu_indexes:
            spare = [nz for nz in allowed[count:] if nz[1] in offered]
            if not spare:
                raise ValueError(
                    f"triton-platform:cluster.gpuNodePool.machineType {gpu_instance_type!r} is offered in no "
                    f"availability zone of {region or 'the region'} that EKS accepts "
                    f"({', '.join(z for _, z in allowed)}); pick another instance type or region"
                )
            chosen[-1] = spare[0]
            gpu_indexes = [count - 1]
    return ZonePlan([n for n, _ in chosen], [z for _, z in chosen], gpu_indexes)


def zone_plan(
    count: int,
    invoke: pulumi.InvokeOutputOptions,
    *,
    gpu_instance_type: str | None,
    region: str,
) -> pulumi.Output[ZonePlan]:
    """``plan_zones`` over the region's zones (getAvailabilityZones) and the GPU type's offerings.

    getAvailabilityZones returns ``names`` and ``zoneIds`` in the same order (EC2
    DescribeAvailabilityZones: ZoneName / ZoneId); getInstanceTypeOfferings with location type
    ``availability-zone-id`` returns the offering zone ids in ``locations`` (EC2
    DescribeInstanceTypeOfferings: InstanceTypeOffering.Location).
    """
    zones = aws.get_availability_zones_output(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
        opts=invoke,
    )
    offered: pulumi.Output[list[str] | None] = pulumi.Output.from_input(None)
    if gpu_instance_type:
        offered = aws.ec2.get_instance_type_offerings_output(
            location_type="availability-zone-id",
            filters=[aws.ec2.GetInstanceTypeOfferingsFilterArgs(name="instance-type", values=[gpu_instance_type])],
            opts=invoke,
        ).locations.apply(list)
    return pulumi.Output.all(zones.names, zones.zone_ids, offered).apply(
        lambda a: plan_zones(
            list(a[0]), list(a[1]), count, gpu_zone_ids=a[2], gpu_instance_type=gpu_instance_type or "", region=region
        )
    )


def _zone_name(index: int) -> Callable[[ZonePlan], str]:
    """The name of the ``index``-th chosen zone (one subnet pair per zone)."""
    return lambda plan: plan.names[index]


def _default_route_table(s: _Scope, vpc: aws.ec2.Vpc, part: str, **target: Any) -> aws.ec2.RouteTable:
    """``<name>-<part>-rt``: a route table whose default route goes to ``target`` (gateway or NAT)."""
    return aws.ec2.RouteTable(
        f"{s.name}-{part}-rt",
        vpc_id=vpc.id,
        routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", **target)],
        tags={**s.tags, "Name": f"{s.cluster_name}-{part}"},
        opts=s.opts,
    )


def _subnet(
    s: _Scope,
    vpc: aws.ec2.Vpc,
    part: str,
    cidr: str,
    az: pulumi.Output[str],
    elb_role: str,
    route_table: aws.ec2.RouteTable,
    **extra: Any,
) -> aws.ec2.Subnet:
    """``<name>-<part>`` in one AZ, associated with ``route_table`` (``<name>-<part>-rta``)."""
    # Load balancer subnet discovery (in-tree controller and AWS Load Balancer Controller).
    discovery = {f"kubernetes.io/cluster/{s.cluster_name}": "shared", elb_role: "1"}
    subnet = aws.ec2.Subnet(
        f"{s.name}-{part}",
        vpc_id=vpc.id,
        cidr_block=cidr,
        availability_zone=az,
        tags={**s.tags, **discovery, "Name": f"{s.cluster_name}-{part}"},
        opts=s.opts,
        **extra,
    )
    aws.ec2.RouteTableAssociation(
        f"{s.name}-{part}-rta", subnet_id=subnet.id, route_table_id=route_table.id, opts=s.opts
    )
    return subnet


def _nat_gateway(s: _Scope, i: int, subnet: aws.ec2.Subnet, igw: aws.ec2.InternetGateway) -> aws.ec2.NatGateway:
    """``<name>-nat-<i>`` with its elastic IP, in public subnet ``i``."""
    tags = {**s.tags, "Name": f"{s.cluster_name}-nat-{i}"}
    eip = aws.ec2.Eip(f"{s.name}-nat-{i}-eip", domain="vpc", tags=tags, opts=s.opts)
    return aws.ec2.NatGateway(
        f"{s.name}-nat-{i}",
        allocation_id=eip.id,
        subnet_id=subnet.id,
        tags=tags,
        opts=pulumi.ResourceOptions.merge(s.opts, pulumi.ResourceOptions(depends_on=[igw])),
    )


def eks_vpc(
    name: str,
    *,
    cluster_name: str,
    vpc_cidr: str,
    az_count: int,
    single_nat_gateway: bool,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    zones: pulumi.Output[ZonePlan],
) -> EksVpc:
    """The VPC, its gateways, subnets and routes; ``opts`` parents them to the cluster component."""
    s = _Scope(name, cluster_name, tags, opts)
    private_cidrs, public_cidrs = subnet_plan(vpc_cidr, az_count)
    vpc = aws.ec2.Vpc(
        f"{name}-vpc",
        cidr_block=vpc_cidr,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags={**tags, "Name": f"{cluster_name}-vpc"},
        opts=opts,
    )
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{cluster_name}-igw"}, opts=opts)
    public_rt = _default_route_table(s, vpc, "public", gateway_id=igw.id)
    net = EksVpc(vpc, [], [])
    nat_gateways: list[aws.ec2.NatGateway] = []
    for i in range(az_count):
        az = zones.apply(_zone_name(i))
        public = _subnet(
            s,
            vpc,
            f"public-{i}",
            public_cidrs[i],
            az,
            "kubernetes.io/role/elb",
            public_rt,
            map_public_ip_on_launch=False,
        )
        net.public_subnets.append(public)
        if i == 0 or not single_nat_gateway:
            nat_gateways.append(_nat_gateway(s, i, public, igw))
        # Each private subnet routes through its AZ's NAT gateway, or all through the single one.
        private_rt = _default_route_table(s, vpc, f"private-{i}", nat_gateway_id=nat_gateways[-1].id)
        net.private_subnets.append(
            _subnet(s, vpc, f"private-{i}", private_cidrs[i], az, "kubernetes.io/role/internal-elb", private_rt)
        )
    return net
