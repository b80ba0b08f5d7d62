"""Kubernetes objects (core/v1 Namespace, Secret, ConfigMap, ServiceAccount; CRD objects), registered as the SDK does.

Importing ``pulumi_kubernetes.core.v1`` costs a program about 180 ms: its ``__init__`` imports every
core/v1 class and the whole ``_inputs`` module. The stack registers four core/v1 kinds, and what
pulumi-kubernetes sends the engine for them is small: the classes here register the same thing,
read from pulumi-kubernetes 4.34's generated classes
(``pulumi_kubernetes/core/v1/{Namespace,Secret,ConfigMap,ServiceAccount}.py``, ``_internal_init``):

- type token ``kubernetes:core/v1:<Kind>``;
- inputs ``apiVersion: v1``, ``kind: <Kind>`` and the kind's own fields, each key present even when
  unset (``None``), under the provider's camelCase names (Namespace adds ``status: None``);
- options merged over ``_utilities.get_resource_opts_defaults()`` (the package's ``version`` and
  ``plugin_download_url``), the caller's options winning;
- Secret: ``data`` and ``stringData`` wrapped in ``pulumi.Output.secret`` and listed in
  ``additional_secret_outputs`` (merged after the caller's options, as the SDK does).

``CustomObject`` is ``pulumi_kubernetes.apiextensions.CustomResource`` (``apiextensions/CustomResource.py``):
type token ``kubernetes:<apiVersion>:<kind>``, inputs ``apiVersion``, ``kind``, ``metadata`` and
``spec``, and the package's ``version`` merged over the caller's options. Registering the SDK's class
makes the SDK resolve its ``'_meta.v1.ObjectMetaArgs'`` annotations, which imports
``pulumi_kubernetes.meta.v1`` (every meta/v1 class, about 10 ms); so does reading ``metadata`` back
as the SDK's ``ObjectMeta``. Here ``metadata`` goes in as the dict ``object_meta`` builds (what
``ObjectMetaArgs`` sends: the provider's field names, unset fields absent) and reads back as the
engine returns it, a dict: ``ns.metadata["name"]``.

tests/components/test_kubernetes_objects.py registers every object both ways under the mock runtime
and compares the engine's RegisterResource requests field by field. Reads (``Service.get``) stay
with the SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pulumi
from pulumi_kubernetes import _utilities

# ObjectMeta as the engine returns it (io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta, camelCase).
ObjectMeta = dict[str, Any]


def object_meta(
    name: pulumi.Input[str] | None = None,
    *,
    namespace: pulumi.Input[str] | None = None,
    labels: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
    annotations: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None,
) -> dict[str, Any]:
    """An object's metadata as ``pulumi_kubernetes.meta.v1.ObjectMetaArgs`` sends it.

    ObjectMetaArgs sets only the fields it is given (``meta/v1/_inputs.py``, ``if name is not None:
    pulumi.set(...)``), under the provider's names, which for these four are their Python names.
    """
    fields = {"annotations": annotations, "labels": labels, "name": name, "namespace": namespace}
    return {key: value for key, value in fields.items() if value is not None}


class _CoreV1Object(pulumi.CustomResource):
    """One core/v1 object: ``Kind(resource_name, opts=None, **fields)`` with the SDK's keyword names."""

    KIND: ClassVar[str]
    # (Python keyword (the SDK's), the provider's property name), in the SDK's order. Subclasses
    # annotate nothing: Pulumi reads a resource class's own annotations as its output properties.
    FIELDS: ClassVar[tuple[tuple[str, str], ...]]
    # Keys the SDK always sends as None (outputs only).
    OUTPUT_ONLY: ClassVar[tuple[str, ...]] = ()
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None, **fields: Any) -> None:
        names = dict(self.FIELDS)
        unknown = sorted(set(fields) - set(names))
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {unknown}")
        opts = pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)
        props: dict[str, Any] = {"apiVersion": "v1", "kind": self.KIND}
        for keyword, prop in self.FIELDS:
            value = fields.get(keyword)
            if keyword in self.SECRET_FIELDS and value is not None:
                value = pulumi.Output.secret(value)
            props[prop] = value
        props.update(dict.fromkeys(self.OUTPUT_ONLY))
        if self.SECRET_FIELDS:
            secret_outputs = [names[k] for k in self.SECRET_FIELDS]
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=secret_outputs))
        super().__init__(f"kubernetes:core/v1:{self.KIND}", resource_name, props, opts)

    @property
    @pulumi.getter
    def metadata(self) -> pulumi.Output[ObjectMeta]:
        """The object's metadata as the engine returns it (a dict: ``metadata["name"]``)."""
        return pulumi.get(self, "metadata")


class Namespace(_CoreV1Object):
    """kubernetes:core/v1:Namespace (pulumi_kubernetes.core.v1.Namespace)."""

    KIND = "Namespace"
    FIELDS = (("metadata", "metadata"), ("spec", "spec"))
    OUTPUT_ONLY = ("status",)


class Secret(_CoreV1Object):
    """kubernetes:core/v1:Secret (pulumi_kubernetes.core.v1.Secret): data and stringData secret."""

    KIND = "Secret"
    FIELDS = (
        ("data", "data"),
        ("immutable", "immutable"),
        ("metadata", "metadata"),
        ("string_data", "stringData"),
        ("type", "type"),
    )
    SECRET_FIELDS = ("data", "string_data")


class ConfigMap(_CoreV1Object):
    """kubernetes:core/v1:ConfigMap (pulumi_kubernetes.core.v1.ConfigMap)."""

    KIND = "ConfigMap"
    FIELDS = (("binary_data", "binaryData"), ("data", "data"), ("immutable", "immutable"), ("metadata", "metadata"))


class ServiceAccount(_CoreV1Object):
    """kubernetes:core/v1:ServiceAccount (pulumi_kubernetes.core.v1.ServiceAccount)."""

    KIND = "ServiceAccount"
    FIELDS = (
        ("automount_service_account_token", "automountServiceAccountToken"),
        ("image_pull_secrets", "imagePullSecrets"),
        ("metadata", "metadata"),
        ("secrets", "secrets"),
    )


class CustomObject(pulumi.CustomResource):
    """kubernetes:<apiVersion>:<kind> (pulumi_kubernetes.apiextensions.CustomResource): an object of a CRD."""

    def __init__(
        self,
        resource_name: str,
        api_version: str,
        kind: str,
        spec: pulumi.Input[Any] | None = None,
        metadata: pulumi.Input[Mapping[str, Any]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # As the SDK's __init__: the package's version merged after the caller's options.
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=_utilities.get_version()))
        props = {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}
        super().__init__(f"kubernetes:{api_version}:{kind}", resource_name, props, opts)
