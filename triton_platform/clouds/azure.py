"""Azure facts the AKS stack is built from: role ids, ABAC conditions, names, MIG and sync values.

Plain data and functions (no Pulumi, no cloud calls), tested on their own; the AKS components
and ``stacks/azure.py`` only wire them into resources.
"""

from __future__ import annotations

import re
from typing import Any

from triton_platform.catalog import gpu

# Built-in role definition ids (the same in every tenant).
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"

# Audience of federated credentials for Azure AD workload identity (fixed by Entra ID).
WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange"
# Label a pod needs so the workload identity webhook projects the token and injects the env.
WORKLOAD_IDENTITY_LABEL = "azure.workload.identity/use"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
INTERNAL_LB_ANNOTATION = "service.beta.kubernetes.io/azure-load-balancer-internal"

# The GPU pool's taint (the GPU operator's daemonsets and Triton tolerate it) and the one
# AKS itself puts on spot pools.
GPU_TAINT = "nvidia.com/gpu=present:NoSchedule"
SPOT_TOLERATION = {
    "key": "kubernetes.azure.com/scalesetpriority",
    "operator": "Equal",
    "value": "spot",
    "effect": "NoSchedule",
}

_BLOB = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
_CONTAINER_NAME = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]"
_BLOB_PATH = f"@Resource[{_BLOB}:path]"
_LIST_PREFIX = f"@Request[{_BLOB}:prefix]"


def role_definition_id(subscription_id: str, role: str) -> str:
    """The full resource id of a built-in role in a subscription."""
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role}"


def blob_prefix_condition(container: str, prefix: str, *more: str, write: bool) -> str:
    """An ABAC condition (version 2.0) confining a blob data role to ``<prefix>/`` of a container.

    Azure RBAC scopes stop at the container; a role assignment condition narrows it to a path,
    following Microsoft's "read or list blobs in named containers with a path" example: reads,
    (writes, deletes) need ``blobs:path`` under the prefix, and List Blobs needs a request
    ``prefix`` under it (listing the container root is denied).

    ``more``: further folders admitted the same way (a canary stack's ``<cache>/releases/served``,
    which Triton's mirror reads); each is one more ``StringStartsWith`` ORed in parentheses, the
    expression grammar of "Azure role assignment condition format and syntax" (``AND``, ``OR``,
    ``NOT``/``!``, grouping). With one folder the condition is the one-path form, unchanged.
    """
    _check_name("container", container, r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
    for p in (prefix, *more):
        _check_name("prefix", p, r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
    paths = [p.rstrip("/") + "/" for p in (prefix, *more)]
    guarded = [f"!(ActionMatches{{'{_BLOB}/read'}} AND NOT SubOperationMatches{{'Blob.List'}})"]
    if write:
        guarded += [
            f"!(ActionMatches{{'{_BLOB}/write'}})",
            f"!(ActionMatches{{'{_BLOB}/add/action'}})",
            f"!(ActionMatches{{'{_BLOB}/delete'}})",
            f"!(ActionMatches{{'{_BLOB}/move/action'}})",
        ]
    objects = (
        f"(({' AND '.join(guarded)}) OR "
        f"({_CONTAINER_NAME} StringEquals '{container}' AND {_starts_with(_BLOB_PATH, paths)}))"
    )
    listing = (
        f"((!(ActionMatches{{'{_BLOB}/read'}} AND SubOperationMatches{{'Blob.List'}})) OR "
        f"({_CONTAINER_NAME} StringEquals '{container}' AND {_starts_with(_LIST_PREFIX, paths)}))"
    )
    return f"{objects} AND {listing}"


def _starts_with(attribute: str, paths: list[str]) -> str:
    # One path: the bare comparison (the instant stacks' condition, unchanged); more: ORed, grouped.
    terms = [f"{attribute} StringStartsWith '{path}'" for path in paths]
    return terms[0] if len(terms) == 1 else f"({' OR '.join(terms)})"


def _check_name(what: str, value: str, pattern: str) -> None:
    # Values are spliced into a condition string: only plain names may pass.
    if not re.fullmatch(pattern, value):
        raise ValueError(f"{what} {value!r} is not a valid Azure blob {what} for an access condition")


def storage_account_name(base: str, suffix: str) -> str:
    """A storage account name (3-24 lowercase letters/digits, globally unique via ``suffix``)."""
    clean = re.sub(r"[^a-z0-9]", "", base.lower())
    tail = re.sub(r"[^a-z0-9]", "", suffix.lower())
    if not tail:
        raise ValueError("the storage account suffix needs letters or digits")
    head = (clean or "triton")[: 24 - len(tail)]
    name = head + tail
    return name if len(name) >= 3 else (name + "000")[:3]


def account_url(account: str) -> str:
    return f"https://{account}.blob.core.windows.net"


def repository_uri(account: str, container: str, prefix: str) -> str:
    """Triton's own Azure Storage repository path: ``as://<account>/<container>/<prefix>``."""
    return f"as://{account}/{container}/{prefix}"


def aks_mig_profiles(product: str) -> tuple[str, ...]:
    """The MIG profiles an AKS agent pool's gpuInstanceProfile can create on ``product``.

    ``MIG1g`` .. ``MIG7g`` each give the GPU's default (smallest-memory, no media extension)
    profile of that compute size: on A100-80GB ``MIG1g`` is ``1g.10gb``, never ``1g.20gb``.
    """
    entry = gpu.find_product(product)
    if entry is None:
        return ()
    out: list[str] = []
    for size in gpu.AKS_GPU_INSTANCE_PROFILES:
        first = next((p for p in entry.mig_profiles if p.startswith(f"{size}.") and "+" not in p), None)
        if first:
            out.append(first)
    return tuple(out)


def gpu_instance_profile(strategy: gpu.MigStrategy, mig_profile: str | None) -> str | None:
    """The AKS agent pool's gpuInstanceProfile for a MIG setup (None without MIG)."""
    if strategy == "none" or mig_profile is None:
        return None
    return gpu.aks_gpu_instance_profile(mig_profile)


# --------------------------------------------------------------------------- keyless model sync

SYNC_VOLUME = "model-sync"
SYNC_ROOT = "/var/run/triton-models"
SYNC_REPOSITORY = f"{SYNC_ROOT}/repository"
SYNC_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "1", "memory": "512Mi"},
}
_HARDENED = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "runAsGroup": 1000,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def model_sync_values(
    *,
    image: str,
    script: str,
    account: Any,
    container: str,
    prefix: str,
    interval_seconds: int,
    sidecar: bool = True,
    size_limit: str | None = None,
    dest: str = SYNC_REPOSITORY,
) -> dict[str, Any]:
    """Chart values that mirror the container into the pod (see ``azure_model_sync``).

    An init container fills the local repository before Triton starts; a sidecar keeps it in
    step every ``interval_seconds`` (left out with ``sidecar=False``: model control mode
    ``none`` never looks at the repository again). Triton mounts the same emptyDir read-only and gets
    ``modelRepository.uri`` = ``dest`` (:data:`SYNC_REPOSITORY`, or a folder under it: a canary
    release's own mirror, :func:`release_mirror`). ``account`` may be a Pulumi Output.
    """
    if dest != SYNC_REPOSITORY and not dest.startswith(SYNC_REPOSITORY + "/"):
        raise ValueError(f"the mirror {dest!r} must lie under {SYNC_REPOSITORY} (the emptyDir Triton mounts)")

    def mirror(name: str, mode: list[str]) -> dict[str, Any]:
        return {
            "name": name,
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            # The script is stdlib-only Python, run by the Triton image's own interpreter.
            "command": ["python3", "-c", script],
            "args": [
                "--account-url",
                _account_url_value(account),
                "--container",
                container,
                "--prefix",
                prefix,
                "--dest",
                dest,
                "--work-dir",
                SYNC_ROOT,
                *mode,
            ],
            "env": [{"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
            "resources": SYNC_RESOURCES,
            "securityContext": _HARDENED,
            "volumeMounts": [{"name": SYNC_VOLUME, "mountPath": SYNC_ROOT}],
        }

    empty_dir: dict[str, Any] = {"sizeLimit": size_limit} if size_limit else {}
    return {
        "modelRepository": {"uri": dest},
        "extraInitContainers": [mirror("model-sync-init", ["--once"])],
        "extraContainers": [mirror("model-sync", ["--interval", str(interval_seconds)])] if sidecar else [],
        "extraVolumes": [{"name": SYNC_VOLUME, "emptyDir": empty_dir}],
        "extraVolumeMounts": [{"name": SYNC_VOLUME, "mountPath": SYNC_ROOT, "readOnly": True}],
    }


def release_mirror(location_key: str) -> str:
    """Where the mirror of the container's ``location_key`` lands in the pod: ``<SYNC_REPOSITORY>/<key>``.

    A canary release's key ``<cache>/releases/served/<hex>`` mirrors to
    ``<SYNC_REPOSITORY>/<cache>/releases/served/<hex>``: the container's own layout, so with
    ``release_mirror(<cache>/releases/served)`` as the root URI (``StorageBinding.locations_root_uri``)
    the release's path is ``<root>/<hex>`` as on every other cloud, and the pod spec names the release
    it serves. Placement only (the key may be a placeholder the composition fills in later).
    """
    return f"{SYNC_REPOSITORY}/{location_key.strip('/')}"


def _account_url_value(account: Any) -> Any:
    apply = getattr(account, "apply", None)
    return apply(account_url) if callable(apply) else account_url(str(account))
