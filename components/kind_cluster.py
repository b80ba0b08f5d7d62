"""KindCluster: a local kind cluster for the dev stack, its kubeconfig (secret) and provider."""

from __future__ import annotations

import shlex

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s

from components.base import ComponentArgs
from triton_platform.kind import PortMapping, create_script, delete_script, kind_config


class KindClusterArgs(ComponentArgs):
    cluster_name: str
    node_image: str
    port_mappings: list[PortMapping]
    kubeconfig_path: str
    host_model_dir: str | None = None


class KindCluster(pulumi.ComponentResource):
    """``kind create cluster`` on apply, ``kind delete cluster`` on destroy.

    The cluster component creates the Kubernetes provider for the cluster it provisions and
    exposes it: every Kubernetes resource of the stack uses it explicitly, never the
    ambient kubeconfig.
    """

    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    cluster_name: pulumi.Output[str]
    kubeconfig_path: str

    def __init__(self, name: str, args: KindClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("triton:local:KindCluster", name, None, opts)
        config_yaml = kind_config(
            port_mappings=args.port_mappings, node_image=args.node_image, host_model_dir=args.host_model_dir
        )
        cluster = shlex.quote(args.cluster_name)
        path = shlex.quote(args.kubeconfig_path)
        create = command.local.Command(
            f"{name}-create",
            command.local.CommandArgs(
                create=create_script(cluster, path),
                delete=delete_script(cluster, path),
                stdin=config_yaml,
                interpreter=["/bin/bash", "-c"],
                # A changed kind config (ports, mounts, image) needs a new cluster.
                triggers=[config_yaml],
                # stdout is the kubeconfig: never log it.
                logging=command.local.Logging.STDERR,
            ),
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["stdout"]),
        )
        self.kubeconfig = pulumi.Output.secret(create.stdout)
        self.cluster_name = pulumi.Output.from_input(args.cluster_name)
        self.kubeconfig_path = args.kubeconfig_path
        self.provider = k8s.Provider(
            f"{name}-k8s",
            k8s.ProviderArgs(kubeconfig=self.kubeconfig, context=f"kind-{args.cluster_name}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[create]),
        )
        self.register_outputs({"kubeconfig": self.kubeconfig, "clusterName": self.cluster_name})
