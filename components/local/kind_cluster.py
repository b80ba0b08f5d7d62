"""KindCluster: a local kind cluster for the dev stack, its kubeconfig (secret) and provider.

kind applies a cluster config (node image, port mappings, mounts) only when it creates the
cluster, so any change to it means a new cluster. The Command is replaced delete-before-replace:
pulumi-command's default replacement is create-before-delete, whose create would find the old
cluster still there (same name) and whose delete would then remove the only cluster. Deleting
first, the new create starts from nothing and builds the cluster from the new config. The new
cluster's kubeconfig (new CA, new API port) is unknown until it exists, so the Kubernetes
provider built on it is replaced too, and with it every Kubernetes resource of the stack.

It also pulls registry images into the node once the cluster exists (``preload_images``): the dev
stack's Triton image (~16 GB) is in the node before Triton's Helm release starts its timeout.
"""

from __future__ import annotations

import shlex

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s

from components.base import ComponentArgs
from components.kubeconfig_file import write_kubeconfig
from triton_platform.clouds.kind import PortMapping, create_script, delete_script, kind_config, prepull_script


class KindClusterArgs(ComponentArgs):
    cluster_name: str
    node_image: str
    port_mappings: list[PortMapping]
    kubeconfig_path: str
    host_model_dir: str | None = None
    # Registry images to pull into the node once it exists, by the name of the child that pulls
    # each ({"triton-image": "nvcr.io/nvidia/tritonserver:25.01-py3"} -> "<name>-triton-image").
    preload_images: dict[str, str] = {}


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
    # ``kubeconfig_path`` once this program run has written the file there (see write_kubeconfig):
    # what a store descriptor or builder that reads the file should take, so it waits for it.
    kubeconfig_file: pulumi.Output[str]
    # The pulls of ``preload_images``, by child name: what a release of those images waits for.
    preloaded: dict[str, command.local.Command]

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
                # A changed kind config (ports, mounts, image) needs a new cluster. pulumi-command:
                # "The resource will be updated (or replaced) if any of these values change. If the
                # `update` command was provided the resource will be updated, otherwise it will be
                # replaced using the `create` command" (pulumi_command/local/command.py, v1.2.1).
                triggers=[config_yaml],
                # stdout is the kubeconfig: never log it.
                logging=command.local.Logging.STDERR,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                additional_secret_outputs=["stdout"],
                # Delete the old cluster before creating the new one: both carry the same name
                # (https://www.pulumi.com/docs/iac/concepts/resources/options/deletebeforereplace/).
                delete_before_replace=True,
                # A config change replaces, even should an `update` command be added one day.
                replace_on_changes=["triggers"],
            ),
        )
        self.kubeconfig = pulumi.Output.secret(create.stdout)
        self.cluster_name = pulumi.Output.from_input(args.cluster_name)
        self.kubeconfig_path = args.kubeconfig_path
        # The create script writes the file only where it runs; every program run writes it
        # again from the state, so any machine sharing the state has it (up and preview).
        self.kubeconfig_file = write_kubeconfig(args.kubeconfig_path, self.kubeconfig)
        self.provider = k8s.Provider(
            f"{name}-k8s",
            k8s.ProviderArgs(kubeconfig=self.kubeconfig, context=f"kind-{args.cluster_name}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[create]),
        )
        self.preloaded = {
            part: self._preload(f"{name}-{part}", args.cluster_name, image, config_yaml, create)
            for part, image in args.preload_images.items()
        }
        self.register_outputs(
            {"kubeconfig": self.kubeconfig, "clusterName": self.cluster_name, "kubeconfigPath": self.kubeconfig_file}
        )

    def _preload(
        self, name: str, cluster: str, image: str, config_yaml: str, create: command.local.Command
    ) -> command.local.Command:
        """Pull ``image`` into the node, so a release that waits for it does not wait for the pull.

        An atomic Helm release's timeout would otherwise include pulling a multi-GB image. A new
        cluster (another config) or another image replaces the Command, which pulls again.
        """
        return command.local.Command(
            name,
            command.local.CommandArgs(
                create=prepull_script(cluster, image),
                interpreter=["/bin/bash", "-c"],
                triggers=[config_yaml, image],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[create], replace_on_changes=["triggers"]),
        )
