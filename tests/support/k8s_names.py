"""Kubernetes' own name rules, for checking the labels and resource names we render.

Ported line by line from the API server's validation (regexes and lengths verbatim), because
the OpenAPI schemas kubernetes-validate checks against type labels, node selectors and
resource requests as plain string maps and so accept any key or value:

- label keys / qualified names and label values: kubernetes/apimachinery
  pkg/api/validate/content/kube.go (IsLabelKey, IsLabelValue) and DNS-1123 subdomains:
  pkg/util/validation/validation.go (IsDNS1123Subdomain);
- extended resource names (``nvidia.com/mig-1g.5gb``): kubernetes/kubernetes
  pkg/apis/core/helper/helpers.go (IsExtendedResourceName: not in ``kubernetes.io/``, no
  ``requests.`` prefix, and ``requests.<name>`` must be a qualified name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_LABEL_KEY_FMT = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_MAX = 63
_LABEL_VALUE_MAX = 63
_DNS1123_LABEL_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + r")*"
_DNS1123_SUBDOMAIN_MAX = 253
_REQUESTS_PREFIX = "requests."


def dns1123_subdomain_errors(value: str) -> list[str]:
    errs = []
    if len(value) > _DNS1123_SUBDOMAIN_MAX:
        errs.append(f"longer than {_DNS1123_SUBDOMAIN_MAX}")
    if not re.fullmatch(_DNS1123_SUBDOMAIN_FMT, value):
        errs.append(f"{value!r} is not a DNS-1123 subdomain")
    return errs


def label_key_errors(value: str) -> list[str]:
    """IsLabelKey (= IsQualifiedName): an optional DNS subdomain prefix, '/', and a name."""
    parts = value.split("/")
    errs: list[str] = []
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += [f"prefix part {e}" for e in dns1123_subdomain_errors(prefix)]
    else:
        return [f"{value!r} has more than one '/'"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > _LABEL_KEY_MAX:
        errs.append(f"name part longer than {_LABEL_KEY_MAX}")
    if not re.fullmatch(_LABEL_KEY_FMT, name):
        errs.append(f"name part {name!r} must be alphanumerics, '-', '_', '.', starting and ending alphanumeric")
    return errs


def label_value_errors(value: str) -> list[str]:
    """IsLabelValue: empty, or a label-key-shaped name of at most 63 characters."""
    errs = []
    if len(value) > _LABEL_VALUE_MAX:
        errs.append(f"longer than {_LABEL_VALUE_MAX}")
    if not re.fullmatch(f"({_LABEL_KEY_FMT})?", value):
        errs.append(f"{value!r} must be alphanumerics, '-', '_', '.', starting and ending alphanumeric")
    return errs


def extended_resource_errors(name: str) -> list[str]:
    """IsExtendedResourceName, with the reason it is not one."""
    if "/" not in name or "kubernetes.io/" in name:
        return [f"{name!r} is a native (kubernetes.io) resource, not an extended one"]
    if name.startswith(_REQUESTS_PREFIX):
        return [f"{name!r} starts with {_REQUESTS_PREFIX!r}"]
    return [f"requests.{name}: {e}" for e in label_key_errors(_REQUESTS_PREFIX + name)]


def labels_errors(labels: Mapping[str, str]) -> list[str]:
    """Every problem of a label map / node selector, keys and values."""
    errs = []
    for key, value in labels.items():
        errs += [f"label key {key!r}: {e}" for e in label_key_errors(key)]
        errs += [f"label {key}={value!r}: {e}" for e in label_value_errors(str(value))]
    return errs
