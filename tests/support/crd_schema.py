"""Custom resources checked against their CRD's ``openAPIV3Schema`` the way the API server treats them.

Kubernetes prunes the fields a structural schema does not declare (unless a node says
``x-kubernetes-preserve-unknown-fields``; kubernetes.io "Custom Resources", field pruning), so a
field of ours the schema lacks would silently do nothing: ``strict`` turns such fields into
validation errors (as ``kubectl apply --validate=strict`` reports them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema


def strict(schema: Any) -> Any:
    """``schema`` with undeclared fields refused wherever the API server would prune them."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def validate_strict(obj: dict[str, Any], schema_file: Path) -> None:
    """Validate ``obj`` against the (strict) schema stored as JSON in ``schema_file``."""
    jsonschema.validate(obj, strict(json.loads(schema_file.read_text())))
