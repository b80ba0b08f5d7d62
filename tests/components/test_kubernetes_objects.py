"""components.kubernetes_objects registers exactly what pulumi_kubernetes.core.v1 and apiextensions register.

Each case registers one object with pulumi-kubernetes' generated class (metadata as its
``ObjectMetaArgs``) and the same object with ours (metadata from ``object_meta``), under the mock
runtime, and compares the RegisterResource requests the engine receives: the
whole protobuf (type, inputs with secrets in Pulumi's envelope, parent, provider, dependencies and
property dependencies, version, plugin download URL, aliases, additional secret outputs, ...), the
name and URN aside. The reference is the real SDK, not this module.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from google.protobuf import json_format

from components import kubernetes_objects as ours
from tests.support.pulumi_mocks import RecordingMocks, run_program
from tests.support.stacks import REPO

# How each side builds metadata: the SDK's ObjectMetaArgs, and ours.
Meta = Callable[..., Any]
Fields = Callable[[Meta], dict[str, Any]]
SIDES: dict[str, Meta] = {"sdk": lambda **kw: k8s.meta.v1.ObjectMetaArgs(**kw), "ours": ours.object_meta}


def _meta(meta: Meta, **extra: Any) -> Any:
    return meta(name="obj", namespace="ns", labels={"app": "triton"}, **extra)


# kind -> cases of keyword arguments (built inside the program: Outputs need the runtime).
CASES: dict[str, list[Fields]] = {
    "Namespace": [
        lambda m: {"metadata": _meta(m)},
        lambda m: {"metadata": {"name": "plain-dict", "annotations": {"a": "b"}}},
        lambda m: {"metadata": m(name=pulumi.Output.from_input("from-output"))},
        lambda m: {},
    ],
    "Secret": [
        lambda m: {"metadata": _meta(m), "string_data": {"key": pulumi.Output.from_input("v")}},
        lambda m: {"metadata": _meta(m), "data": {"k": "dg=="}, "type": "Opaque", "immutable": True},
        lambda m: {"metadata": _meta(m), "string_data": pulumi.Output.secret({"k": "v"})},
    ],
    "ConfigMap": [
        lambda m: {"metadata": _meta(m), "data": {"dashboard.json": "{}"}},
        lambda m: {"metadata": _meta(m), "binary_data": {"b": "AA=="}, "immutable": False},
    ],
    "ServiceAccount": [
        lambda m: {"metadata": _meta(m, annotations={"eks.amazonaws.com/role-arn": "arn"})},
        lambda m: {"metadata": _meta(m), "automount_service_account_token": False},
    ],
}
CASE_IDS = [(kind, i) for kind, cases in CASES.items() for i in range(len(cases))]


def _requests(mocks: RecordingMocks) -> dict[str, dict[str, Any]]:
    """Every RegisterResource request the mock engine receives, by resource name, as a dict."""
    monitor: Any = pulumi.runtime.settings.get_monitor()
    original = monitor.RegisterResource
    seen: dict[str, dict[str, Any]] = {}

    def register(request: Any) -> Any:
        seen[request.name] = json_format.MessageToDict(request)
        return original(request)

    monitor.RegisterResource = register
    return seen


def _options(
    parent: pulumi.Resource, provider: pulumi.ProviderResource, dep: pulumi.Resource
) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(
        parent=parent,
        provider=provider,
        depends_on=[dep],
        aliases=[pulumi.Alias(name="old-name")],
        protect=False,
        additional_secret_outputs=["metadata"],
    )


@pytest.mark.parametrize(("kind", "case"), CASE_IDS, ids=[f"{k}-{i}" for k, i in CASE_IDS])
def test_registers_what_the_sdk_registers(mocks: RecordingMocks, kind: str, case: int) -> None:
    seen = _requests(mocks)
    names: dict[str, pulumi.Output[Any]] = {}

    def program() -> dict[str, Any]:
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        provider = k8s.Provider("k8s", kubeconfig="{}")
        dep = pulumi.ComponentResource("test:index:Dep", "dep")
        for prefix, cls in (("sdk", getattr(k8s.core.v1, kind)), ("ours", getattr(ours, kind))):
            obj = cls(f"{prefix}-{kind}", opts=_options(parent, provider, dep), **CASES[kind][case](SIDES[prefix]))
            assert obj.metadata is not None
            # The SDK reads metadata back as its ObjectMeta, ours as the engine's dict.
            read = (lambda m: m and m.name) if prefix == "sdk" else (lambda m: m and m["name"])
            names[prefix] = obj.metadata.apply(read)
        return {"names": pulumi.Output.all(names["sdk"], names["ours"])}

    result = run_program(program)
    # Both read the same name back (the mock engine names an object without one after the resource).
    sdk_name, our_name = result.values["names"]
    assert sdk_name == our_name or (sdk_name, our_name) == (f"sdk-{kind}", f"ours-{kind}")
    sdk, mine = seen[f"sdk-{kind}"], seen[f"ours-{kind}"]
    assert sdk["type"] == f"kubernetes:core/v1:{kind}"
    assert sdk.pop("name") == f"sdk-{kind}"
    assert mine.pop("name") == f"ours-{kind}"
    assert sdk.get("version"), "the SDK pins its provider version"
    assert mine == sdk
    assert mocks.named(f"ours-{kind}").inputs == mocks.named(f"sdk-{kind}").inputs


def test_secret_data_is_secret_on_the_wire(mocks: RecordingMocks) -> None:
    def program() -> dict[str, Any]:
        secret = ours.Secret("keys", metadata=_meta(ours.object_meta), string_data={"secretKey": "hunter2"})
        return {"metadata": secret.metadata["name"]}

    result = run_program(program)
    assert result.values["metadata"] == "obj"
    wire = mocks.wire_inputs["keys"]["stringData"]
    assert wire["value"] == {"secretKey": "hunter2"}  # in Pulumi's secret envelope
    assert len(wire) == 2, wire


def test_metadata_reads_back_as_the_engine_returns_it(mocks: RecordingMocks) -> None:
    def program() -> dict[str, Any]:
        ns = ours.Namespace("ns", metadata=_meta(ours.object_meta, annotations={"a": "b"}))
        return {"name": ns.metadata["name"], "meta": ns.metadata}

    result = run_program(program)
    assert result.values["name"] == "obj"
    assert result.values["meta"] == {
        "name": "obj",
        "namespace": "ns",
        "labels": {"app": "triton"},
        "annotations": {"a": "b"},
    }


def test_object_meta_sets_only_the_fields_it_is_given() -> None:
    assert ours.object_meta("n") == {"name": "n"}
    assert ours.object_meta(namespace="ns", labels={}) == {"namespace": "ns", "labels": {}}
    assert ours.object_meta() == {}


# A CRD's objects: pulumi_kubernetes.apiextensions.CustomResource against CustomObject.
CUSTOM_CASES: list[Fields] = [
    lambda m: {
        "api_version": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _meta(m),
        "spec": {"groups": [{"name": "triton", "rules": [{"alert": "TritonDown", "expr": "up == 0"}]}]},
    },
    lambda m: {
        "api_version": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": m(name="route", namespace=pulumi.Output.from_input("ns")),
        "spec": {"parentRefs": [{"name": "gw", "sectionName": "http"}], "camelCase_and_snake_case": 1},
    },
    lambda m: {"api_version": "example.com/v1alpha1", "kind": "Empty"},
]


@pytest.mark.parametrize("case", range(len(CUSTOM_CASES)))
def test_custom_object_registers_what_the_sdk_registers(mocks: RecordingMocks, case: int) -> None:
    seen = _requests(mocks)

    def program() -> dict[str, Any]:
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        provider = k8s.Provider("k8s", kubeconfig="{}")
        dep = pulumi.ComponentResource("test:index:Dep", "dep")
        for prefix, cls in (("sdk", k8s.apiextensions.CustomResource), ("ours", ours.CustomObject)):
            cls(f"{prefix}-custom", opts=_options(parent, provider, dep), **CUSTOM_CASES[case](SIDES[prefix]))
        return {}

    run_program(program)
    sdk, mine = seen["sdk-custom"], seen["ours-custom"]
    assert sdk["type"].startswith("kubernetes:")
    assert sdk.get("version"), "the SDK pins its provider version"
    assert (sdk.pop("name"), mine.pop("name")) == ("sdk-custom", "ours-custom")
    assert mine == sdk
    assert mocks.named("ours-custom").inputs == mocks.named("sdk-custom").inputs


def test_custom_object_takes_the_callers_version_like_the_sdk(mocks: RecordingMocks) -> None:
    """The SDK merges its own version after the caller's options: a caller's version loses."""
    seen = _requests(mocks)

    def program() -> dict[str, Any]:
        opts = pulumi.ResourceOptions(version="0.0.1")
        k8s.apiextensions.CustomResource("sdk-v", api_version="example.com/v1", kind="Thing", opts=opts)
        ours.CustomObject("ours-v", api_version="example.com/v1", kind="Thing", opts=opts)
        return {}

    run_program(program)
    assert seen["ours-v"]["version"] == seen["sdk-v"]["version"] != "0.0.1"


def test_an_unknown_field_is_refused_like_the_sdk(mocks: RecordingMocks) -> None:
    with pytest.raises(TypeError, match="unexpected keyword") as sdk_error:
        k8s.core.v1.ConfigMap("sdk", datum={"a": "b"})  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['datum'\]"):
        ours.ConfigMap("ours", datum={"a": "b"})
    assert "datum" in str(sdk_error.value)


def test_registering_does_not_import_core_v1_or_meta_v1() -> None:
    """The reason the module exists: neither import happens, through it or through the SDK's type hints."""
    code = """
import sys
from tests.support.pulumi_mocks import RecordingMocks, run_program
from components import kubernetes_objects as ko
RecordingMocks().install("dev")
def program():
    ns = ko.Namespace("ns", metadata=ko.object_meta("n"))
    ko.Secret("s", metadata=ko.object_meta("s", namespace=ns.metadata["name"]), string_data={"a": "b"})
    ko.CustomObject("r", api_version="monitoring.coreos.com/v1", kind="PrometheusRule",
                    metadata=ko.object_meta("r", namespace=ns.metadata["name"]), spec={"groups": []})
    return {"ns": ns.metadata["name"]}
assert run_program(program).values["ns"] == "n"
print(sorted(m for m in ("pulumi_kubernetes.core.v1", "pulumi_kubernetes.meta.v1") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr
