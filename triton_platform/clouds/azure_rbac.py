"""The engine builder's Azure role: blob data actions only, no management-plane action.

The built-in *Storage Blob Data Contributor* (``ba92f5b4-2d11-453d-a403-e96b0029c9fe``) also
carries management-plane ``actions`` (Microsoft's "Azure built-in roles for Storage",
learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage): container
``delete``, ``read``, ``write`` and ``generateUserDelegationKey/action``. A role assignment
condition (ABAC) only constrains the data actions it targets, so at container scope the
builder could delete or rewrite the model container through Azure Resource Manager whatever
the condition says. The builder gets a custom role with ``dataActions`` only instead.

Which data actions, from the Job script (``publisher/builders/kubernetes_job.py``):
``az storage blob download`` (Get Blob: ``blobs/read``) of the ONNX / calibration cache and
``az storage blob upload --overwrite true`` (Put Blob / Put Block / Put Block List:
``blobs/write``, and ``blobs/add/action`` which Azure accepts for creating a new blob) of the
engine. No ``blobs/delete`` or ``blobs/move/action``: the publisher, with the operator's own
login, is the only one that removes anything. The assignment keeps the ABAC condition of
``triton_platform.clouds.azure.blob_prefix_condition`` that confines every one of these to the cache
prefix. Plain data and functions, no Pulumi.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

_BLOB = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
BLOB_READ = f"{_BLOB}/read"
BLOB_WRITE = f"{_BLOB}/write"
BLOB_ADD = f"{_BLOB}/add/action"
BLOB_DELETE = f"{_BLOB}/delete"
BLOB_MOVE = f"{_BLOB}/move/action"

ENGINE_BUILDER_DATA_ACTIONS = (BLOB_READ, BLOB_WRITE, BLOB_ADD)
# Azure's value of a role definition's roleType for one that is not built in.
CUSTOM_ROLE = "CustomRole"
# A custom role's display name: unique in the tenant, at most 128 characters.
ROLE_NAME_MAX = 128
# Fixed namespace for the role definitions' GUIDs (uuid5 of scope and purpose).
_ROLE_NAMESPACE = uuid.UUID("6c0b7f3e-9d3a-5a51-8a3b-3d1f2b7c9e41")


def resource_group_scope(subscription_id: str, resource_group: str) -> str:
    """``/subscriptions/<id>/resourceGroups/<name>``: where the custom role is defined and assignable."""
    if not re.fullmatch(r"[0-9a-fA-F-]{36}", subscription_id):
        raise ValueError(f"subscription id {subscription_id!r} is not a GUID")
    if not re.fullmatch(r"[-\w._()]{1,90}", resource_group):
        raise ValueError(f"resource group name {resource_group!r} is not valid")
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"


def engine_builder_permissions() -> dict[str, list[str]]:
    """The role's one permission block: data actions only (``actions`` empty)."""
    return {
        "actions": [],
        "not_actions": [],
        "data_actions": list(ENGINE_BUILDER_DATA_ACTIONS),
        "not_data_actions": [],
    }


def engine_builder_role_name(resource_group: str, container: str) -> str:
    """A display name unique in the tenant: one role per resource group and container."""
    name = f"triton-platform engine builder ({resource_group}/{container})"
    if len(name) > ROLE_NAME_MAX:
        raise ValueError(f"role name {name!r} is longer than Azure's {ROLE_NAME_MAX} characters")
    return name


def role_definition_guid(scope: str, name: str) -> str:
    """A stable GUID for a custom role (its resource name), derived from where and what it is."""
    return str(uuid.uuid5(_ROLE_NAMESPACE, f"{scope.lower()}|{name}"))


def engine_builder_role(subscription_id: str, resource_group: str, container: str) -> dict[str, Any]:
    """Everything the RoleDefinition resource needs, as plain values."""
    scope = resource_group_scope(subscription_id, resource_group)
    name = engine_builder_role_name(resource_group, container)
    return {
        "role_definition_id": role_definition_guid(scope, name),
        "scope": scope,
        "role_name": name,
        "description": (
            f"Read build inputs and write TensorRT engines in blob container {container}; "
            "data actions only (the assignment's condition confines them to the cache prefix)."
        ),
        "role_type": CUSTOM_ROLE,
        "permissions": engine_builder_permissions(),
        "assignable_scopes": [scope],
    }
