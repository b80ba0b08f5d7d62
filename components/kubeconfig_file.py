"""A cluster's kubeconfig kept in a local file for the tools that run beside ``pulumi up``.

EKS, GKE, AKS and kind compositions hand the publisher (its Kubernetes engine builder, the
S3 key Secret lookup) a kubeconfig path (``.state/<kind>-<cluster>.kubeconfig``), never the
contents. A Command alone would write that file only where it was first created: a teammate's
checkout or a CI runner sharing the state runs no create, so would have no file. The program
therefore writes it on every run, ``pulumi up`` and ``pulumi preview``, as soon as the (secret)
kubeconfig is known, which in a preview is whenever it is already in the state
(``triton_platform.clouds.kubeconfig.write_private_file``: atomic, mode 0600). The Command stays for
what only it can do: remove the file on ``pulumi destroy``.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Sequence

import pulumi
import pulumi_command as command

from triton_platform.clouds.kubeconfig import write_private_file


def write_file_script(path: str) -> str:
    """Shell that writes stdin to ``path`` atomically, readable by the owner only."""
    p = shlex.quote(path)
    return f'set -euo pipefail\numask 077\nmkdir -p "$(dirname {p})"\ncat > {p}.tmp\nmv -f {p}.tmp {p}\n'


def write_kubeconfig(path: str, kubeconfig: pulumi.Input[str]) -> pulumi.Output[str]:
    """Write ``kubeconfig`` to ``path`` (0600) in this program run; resolves to ``path`` once written.

    ``apply`` runs during a preview too when the value is known (Pulumi skips it only for
    unknowns), so a preview on a fresh machine writes the file from the state. The path itself
    is not secret: it is unwrapped so it may go into plain inputs (a store descriptor).
    """
    written = pulumi.Output.from_input(kubeconfig).apply(functools.partial(write_private_file, path))
    return pulumi.Output.unsecret(written)


def kubeconfig_file(
    name: str,
    path: str,
    kubeconfig: pulumi.Input[str],
    *,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> command.local.Command:
    """``<name>-kubeconfig-file`` (``name``: the cluster component's): ``kubeconfig`` at ``path``, mode 600.

    The program writes the file on every run (``write_kubeconfig``); the Command's stdin is the
    same value, released only after that write, so whatever waits for this Command finds the file.
    """
    written = write_kubeconfig(path, kubeconfig)
    stdin = pulumi.Output.all(kubeconfig, written).apply(lambda values: str(values[0]))
    script = write_file_script(path)
    return command.local.Command(
        f"{name}-kubeconfig-file",
        command.local.CommandArgs(
            create=script,
            # A new kubeconfig (rotated CA, new endpoint) rewrites the file in place.
            update=script,
            delete=f"rm -f {shlex.quote(path)}",
            stdin=pulumi.Output.secret(stdin),
            interpreter=["/bin/bash", "-c"],
            # The kubeconfig must not reach the logs, nor PULUMI_COMMAND_STDOUT of the next run.
            logging=command.local.Logging.NONE,
            add_previous_output_in_env=False,
        ),
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=list(depends_on), additional_secret_outputs=["stdin", "stdout"]
        ),
    )
