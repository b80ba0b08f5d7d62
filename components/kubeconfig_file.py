"""A cluster's kubeconfig kept in a local file for the tools that run beside ``pulumi up``.

EKS, GKE and AKS compositions hand the publisher's Kubernetes engine builder a kubeconfig
path (``.state/<kind>-<cluster>.kubeconfig``), never the contents; this local command keeps
that file in step with the cluster's (secret) kubeconfig and removes it on destroy.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import pulumi
import pulumi_command as command


def write_file_script(path: str) -> str:
    """Shell that writes stdin to ``path`` atomically, readable by the owner only."""
    p = shlex.quote(path)
    return f'set -euo pipefail\numask 077\nmkdir -p "$(dirname {p})"\ncat > {p}.tmp\nmv -f {p}.tmp {p}\n'


def kubeconfig_file(
    name: str,
    path: str,
    kubeconfig: pulumi.Input[str],
    *,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> command.local.Command:
    """``<name>-kubeconfig-file`` (``name``: the cluster component's): writes ``kubeconfig`` to ``path``, mode 600."""
    script = write_file_script(path)
    return command.local.Command(
        f"{name}-kubeconfig-file",
        command.local.CommandArgs(
            create=script,
            # A new kubeconfig (rotated CA, new endpoint) rewrites the file in place.
            update=script,
            delete=f"rm -f {shlex.quote(path)}",
            stdin=kubeconfig,
            interpreter=["/bin/bash", "-c"],
            # The kubeconfig must not reach the logs, nor PULUMI_COMMAND_STDOUT of the next run.
            logging=command.local.Logging.NONE,
            add_previous_output_in_env=False,
        ),
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=list(depends_on), additional_secret_outputs=["stdin", "stdout"]
        ),
    )
