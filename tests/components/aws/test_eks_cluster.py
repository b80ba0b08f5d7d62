"""EksCluster's node groups leave their size to cluster-autoscaler after creation.

cluster-autoscaler resizes a managed node group through its Auto Scaling group
(SetDesiredCapacity), which EKS reports back as the node group's ``scalingConfig.desiredSize``
(pulumi-aws 7.51.1 ``aws.eks.NodeGroup``). Without ``ignore_changes`` on it, every ``pulumi up``
would set the size back to the configured start, draining GPU nodes the autoscaler added for
pending Triton pods (the AKS pool's ``count`` is held the same way: tests/components/azure).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.eks_cluster import EksCluster, EksClusterArgs, EksNodeGroupSpec
from tests.support.pulumi_mocks import RecordingMocks


def test_node_group_sizes_belong_to_the_autoscaler(mocks: RecordingMocks) -> None:
    ignored: dict[str, list[str]] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        if args.type_ == "aws:eks/nodeGroup:NodeGroup":
            ignored[args.name] = list(args.opts.ignore_changes or [])

    @pulumi.runtime.test
    def program() -> None:
        EksCluster(
            "triton-prod",
            EksClusterArgs(
                provider=aws.Provider("aws", region="us-east-1"),
                cluster_name="triton-prod",
                kubernetes_version="1.31",
                region="us-east-1",
                system_node_group=EksNodeGroupSpec(instance_type="m6i.xlarge", min_size=2, max_size=4, desired_size=2),
                gpu_node_group=EksNodeGroupSpec(instance_type="p4d.24xlarge", min_size=0, max_size=2, desired_size=1),
            ),
            pulumi.ResourceOptions(transformations=[capture]),
        )

    program()
    assert set(ignored) == {"triton-prod-system", "triton-prod-gpu"}, ignored
    assert all("scalingConfig.desiredSize" in fields for fields in ignored.values()), ignored
    (gpu,) = [g for g in mocks.of_type("aws:eks/nodeGroup:NodeGroup") if g.name == "triton-prod-gpu"]
    # The bounds stay Pulumi's: the autoscaler moves the size between them.
    assert gpu.inputs["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 1}
