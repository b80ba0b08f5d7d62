"""components.kubernetes_objects registers exactly what pulumi_kubernetes.core.v1 registers.

Each case registers one object with pulumi-kubernetes' generated class and the same object with
ours, under the mock runtime, and compares the RegisterResource requests the engine receives: the
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

Fields = Callable[[], dict[str, Any]]


def _meta(**extra: Any) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(name="obj", namespace="ns", labels={"app": "triton"}, **extra)


# kind -> cases of keyword arguments (built inside the program: Outputs need the runtime).
CASES: dict[str, list[Fields]] = {
    "Namespace": [
        lambda: {"metadata": _meta()},
        lambda: {"metadata": {"name": "plain-dict", "annotations": {"a": "b"}}},
        lambda: {},
    ],
    "Secret": [
        lambda: {"metadata": _meta(), "string_data": {"key": pulumi.Output.from_input("v")}},
        lambda: {"metadata": _meta(), "data": {"k": "dg=="}, "type": "Opaque", "immutable": True},
        lambda: {"metadata": _meta(), "string_data": pulumi.Output.secret({"k": "v"})},
    ],
    "ConfigMap": [
        lambda: {"metadata": _meta(), "data": {"dashboard.json": "{}"}},
        lambda: {"metadata": _meta(), "binary_data": {"b": "AA=="}, "immutable": False},
    ],
    "ServiceAccount": [
        lambda: {"metadata": _meta(annotations={"eks.amazonaws.com/role-arn": "arn"})},
        lambda: {"metadata": _meta(), "automount_service_account_token": False},
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
            obj = cls(f"{prefix}-{kind}", opts=_options(parent, provider, dep), **CASES[kind][case]())
            assert obj.metadata is not None
            names[prefix] = obj.metadata.apply(lambda m: None if m is None else m.name)
        return {}

    run_program(program)
    sdk, mine = seen[f"sdk-{kind}"], seen[f"ours-{kind}"]
    assert sdk["type"] == f"kubernetes:core/v1:{kind}"
    assert sdk.pop("name") == f"sdk-{kind}"
    assert mine.pop("name") == f"ours-{kind}"
    assert sdk.get("version"), "the SDK pins its provider version"
    assert mine == sdk
    assert mocks.named(f"ours-{kind}").inputs == mocks.named(f"sdk-{kind}").inputs


def test_secret_data_is_secret_on_the_wire(mocks: RecordingMocks) -> None:
    def program() -> dict[str, Any]:
        secret = ours.Secret("keys", metadata=_meta(), string_data={"secretKey": "hunter2"})
        return {"metadata": secret.metadata.apply(lambda m: m.name)}

    result = run_program(program)
    assert result.values["metadata"] == "obj"
    wire = mocks.wire_inputs["keys"]["stringData"]
    assert wire["value"] == {"secretKey": "hunter2"}  # in Pulumi's secret envelope
    assert len(wire) == 2, wire


def test_metadata_reads_back_as_the_sdks_output_type(mocks: RecordingMocks) -> None:
    seen: dict[str, Any] = {}

    def program() -> dict[str, Any]:
        ns = ours.Namespace("ns", metadata=_meta())
        return {"name": ns.metadata.name, "meta": ns.metadata.apply(lambda m: seen.setdefault("type", type(m)))}

    result = run_program(program)
    assert result.values["name"] == "obj"
    assert seen["type"] is k8s.meta.v1.outputs.ObjectMeta


def test_an_unknown_field_is_refused_like_the_sdk(mocks: RecordingMocks) -> None:
    with pytest.raises(TypeError, match="unexpected keyword") as sdk_error:
        k8s.core.v1.ConfigMap("sdk", datum={"a": "b"})  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['datum'\]"):
        ours.ConfigMap("ours", datum={"a": "b"})
    assert "datum" in str(sdk_error.value)


def test_importing_the_module_does_not_import_core_v1() -> None:
    code = "import sys, components.kubernetes_objects; print('pulumi_kubernetes.core.v1' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
