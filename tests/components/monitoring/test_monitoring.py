"""Monitoring under Pulumi mocks: the pinned release, its values, dashboard, rules and secrets."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pydantic
import pytest

from components.monitoring.monitoring import (
    DASHBOARD_CONFIGMAP,
    GRAFANA_ADMIN_SECRET,
    RELEASE_NAME,
    Monitoring,
    MonitoringArgs,
    stack_values,
)
from tests.support.pulumi_mocks import RecordingMocks
from tests.support.stacks import REPO
from triton_platform.catalog import versions
from triton_platform.values.alerts import AlertThresholds, prometheus_rule_spec
from triton_platform.values.cluster_targets import Cloud

DASHBOARD = str(REPO / "dashboards" / "triton.json")
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value on the wire
MONITORING_TYPE = "triton:monitoring:Monitoring"


@dataclass
class Registration:
    type: str
    parent: str
    dependencies: list[str]


@pytest.fixture
def registrations(mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch) -> dict[str, Registration]:
    """Parent and dependencies of every registered resource (the recorder does not keep them)."""
    monitor = pulumi.runtime.settings.get_monitor()
    original = monitor.RegisterResource  # type: ignore[union-attr]
    seen: dict[str, Registration] = {}

    def spy(request: Any) -> Any:
        seen[request.name] = Registration(request.type, request.parent, list(request.dependencies))
        return original(request)

    monkeypatch.setattr(monitor, "RegisterResource", spy)
    return seen


def _build(**overrides: Any) -> tuple[Monitoring, pulumi.ProviderResource]:
    provider = k8s.Provider("k8s", kubeconfig="{}")
    args: dict[str, Any] = {
        "k8s_provider": provider,
        "triton_namespace": "triton",
        "dashboard_path": DASHBOARD,
        "cloud": "gcp",
    }
    args.update(overrides)
    return Monitoring("mon", MonitoringArgs(**args)), provider


def _children(m: Monitoring) -> list[pulumi.CustomResource]:
    found = [m.namespace_resource, m.admin_password, m.admin_secret, m.release, m.dashboard, m.rules]
    return [r for r in found if r is not None]


def _after_registration(m: Monitoring, check: Callable[[], None]) -> pulumi.Output[None]:
    """Run `check` once every child is registered (its id resolved), inside the Pulumi test."""
    return pulumi.Output.all(*[r.id for r in _children(m)]).apply(lambda _: check())


@pulumi.runtime.test
def test_release_is_the_pinned_chart_with_open_selectors(mocks: RecordingMocks) -> pulumi.Output[None]:
    m, _ = _build(retention="30d", storage_size="50Gi")

    def check() -> None:
        (release,) = mocks.of_type("kubernetes:helm.sh/v3:Release")
        inputs = release.inputs
        pin = versions.KUBE_PROMETHEUS_STACK
        assert inputs["chart"] == pin.chart
        assert inputs["version"] == pin.version
        assert inputs["repositoryOpts"]["repo"] == pin.repo
        assert inputs["name"] == RELEASE_NAME
        assert inputs["namespace"] == "monitoring"
        values = inputs["values"]
        spec = values["prometheus"]["prometheusSpec"]
        assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
        assert spec["podMonitorSelectorNilUsesHelmValues"] is False
        assert spec["ruleSelectorNilUsesHelmValues"] is False
        assert spec["retention"] == "30d"
        assert spec["resources"]["requests"] == {"cpu": "500m", "memory": "2Gi"}
        claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
        assert claim["resources"]["requests"]["storage"] == "50Gi"
        assert "storageClassName" not in claim  # the cluster's default class
        assert values["alertmanager"]["enabled"] is True
        grafana = values["grafana"]
        assert grafana["enabled"] is True
        assert grafana["admin"]["existingSecret"] == GRAFANA_ADMIN_SECRET
        dashboards = grafana["sidecar"]["dashboards"]
        assert dashboards == {
            "enabled": True,
            "label": "grafana_dashboard",
            "labelValue": "1",
            "searchNamespace": "ALL",
        }

    return _after_registration(m, check)


@pulumi.runtime.test
def test_namespace_is_fixed_and_labelled(mocks: RecordingMocks) -> pulumi.Output[None]:
    m, _ = _build(namespace="observability")

    def check() -> None:
        (ns,) = mocks.of_type("kubernetes:core/v1:Namespace")
        assert ns.inputs["metadata"]["name"] == "observability"
        labels = ns.inputs["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "triton-platform"
        assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
        for r in mocks.resources:
            if r.type.startswith("kubernetes:") and r.type != "kubernetes:core/v1:Namespace":
                where = r.inputs["metadata"]["namespace"] if "metadata" in r.inputs else r.inputs["namespace"]
                assert where == "observability", r.name

    def check_output(namespace: str) -> None:
        assert namespace == "observability"

    return pulumi.Output.all(_after_registration(m, check), m.namespace).apply(lambda a: check_output(a[1]))


@pulumi.runtime.test
def test_dashboard_configmap_carries_the_dashboard_with_the_sidecar_label(
    mocks: RecordingMocks,
) -> pulumi.Output[None]:
    m, _ = _build()

    def check() -> None:
        (cm,) = mocks.of_type("kubernetes:core/v1:ConfigMap")
        meta = cm.inputs["metadata"]
        assert meta["name"] == DASHBOARD_CONFIGMAP
        assert meta["namespace"] == "monitoring"
        assert meta["labels"]["grafana_dashboard"] == "1"
        (text,) = cm.inputs["data"].values()
        assert text == Path(DASHBOARD).read_text(encoding="utf-8")
        assert json.loads(text)["uid"] == "triton-inference-server"

    return _after_registration(m, check)


@pulumi.runtime.test
def test_prometheus_rule_carries_the_triton_alerts_and_waits_for_the_release(
    mocks: RecordingMocks, registrations: dict[str, Registration]
) -> pulumi.Output[None]:
    m, _ = _build(queue_time_ms=250, failure_ratio=0.1)

    def check(release_urn: str) -> None:
        (rule,) = mocks.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        assert rule.inputs["apiVersion"] == "monitoring.coreos.com/v1"
        assert rule.inputs["kind"] == "PrometheusRule"
        assert rule.inputs["metadata"]["namespace"] == "monitoring"
        expected = prometheus_rule_spec("triton", AlertThresholds(queue_time_ms=250, failure_ratio=0.1))
        assert rule.inputs["spec"] == expected
        rendered = json.dumps(rule.inputs["spec"])
        assert "> 250" in rendered
        assert "> 0.1" in rendered
        # The PrometheusRule CRD comes with the chart: the rule must wait for the release.
        assert release_urn in registrations["mon-rules"].dependencies

    return pulumi.Output.all(_after_registration(m, lambda: None), m.release.urn).apply(lambda a: check(a[1]))


@pulumi.runtime.test
def test_gateway_alerts_only_with_a_gateway(mocks: RecordingMocks) -> pulumi.Output[None]:
    """triton.gateway.enabled adds the triton.gateway group with its own threshold; without it, none."""
    m, _ = _build(gateway_enabled=True, gateway_error_ratio=0.02)

    def check() -> None:
        (rule,) = mocks.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
        expected = prometheus_rule_spec("triton", AlertThresholds(gateway_error_ratio=0.02), gateway=True)
        assert rule.inputs["spec"] == expected
        gateway = [g for g in rule.inputs["spec"]["groups"] if g["name"] == "triton.gateway"]
        assert [r["alert"] for g in gateway for r in g["rules"]] == ["TritonGatewayErrors"]
        assert gateway[0]["rules"][0]["expr"].endswith("> 0.02")
        assert "triton.gateway" not in json.dumps(prometheus_rule_spec("triton"))

    return _after_registration(m, check)


@pulumi.runtime.test
def test_grafana_admin_password_is_a_secret_everywhere(
    mocks: RecordingMocks, registrations: dict[str, Registration]
) -> pulumi.Output[None]:
    m, _ = _build()
    assert m.grafana_admin_password is not None

    def check(is_secret: bool, secret_urn: str) -> None:
        assert is_secret is True
        (secret,) = mocks.of_type("kubernetes:core/v1:Secret")
        assert secret.inputs["metadata"]["name"] == GRAFANA_ADMIN_SECRET
        data = secret.inputs["stringData"]
        # On the wire the whole stringData is a secret value.
        assert data[SECRET_SIG]
        assert set(data["value"]) == {"admin-user", "admin-password"}
        assert data["value"]["admin-password"].startswith("mock-password-")
        (password,) = mocks.of_type("random:index/randomPassword:RandomPassword")
        assert password.inputs["length"] >= 24
        # Grafana reads the Secret: the password is not in the Helm values, and the release
        # is installed after the Secret exists.
        (release,) = mocks.of_type("kubernetes:helm.sh/v3:Release")
        assert "mock-password" not in json.dumps(release.inputs)
        assert secret_urn in registrations["mon-release"].dependencies

    return pulumi.Output.all(
        _after_registration(m, lambda: None),
        _secretness(m.grafana_admin_password),
        m.admin_secret.urn if m.admin_secret else "",
    ).apply(lambda a: check(a[1], a[2]))


def _secretness(output: pulumi.Output[str]) -> pulumi.Output[bool]:
    """Whether ``output`` is secret, as an Output (``is_secret`` is a coroutine)."""
    is_secret: Awaitable[bool] = output.is_secret()
    return pulumi.Output.from_input(is_secret)


@pulumi.runtime.test
def test_every_child_uses_the_passed_provider_and_is_parented_to_the_component(
    mocks: RecordingMocks, registrations: dict[str, Registration]
) -> pulumi.Output[None]:
    m, provider = _build()

    def check(component_urn: str, provider_urn: str) -> None:
        children = [name for name, reg in registrations.items() if reg.parent == component_urn]
        assert sorted(children) == sorted(
            ["mon-namespace", "mon-grafana-password", "mon-grafana-admin", "mon-release", "mon-dashboard", "mon-rules"]
        )
        assert registrations["mon"].type == MONITORING_TYPE
        for r in mocks.resources:
            if r.name in children and r.type.startswith("kubernetes:"):
                assert r.provider, r.name
                assert r.provider.startswith(provider_urn + "::"), (r.name, r.provider)

    # Children reference a provider as "<provider urn>::<provider id>".
    return pulumi.Output.all(_after_registration(m, lambda: None), m.urn, provider.urn).apply(
        lambda a: check(a[1], a[2])
    )


@pulumi.runtime.test
def test_outputs_point_at_the_chart_services(mocks: RecordingMocks) -> pulumi.Output[None]:
    m, _ = _build()
    assert m.ready == [m.release, m.rules]

    def check(a: list[Any]) -> None:
        namespace, prometheus, alertmanager, grafana = a
        assert namespace == "monitoring"
        assert prometheus == "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090"
        assert alertmanager == "http://kube-prometheus-stack-alertmanager.monitoring.svc.cluster.local:9093"
        assert grafana == "http://kube-prometheus-stack-grafana.monitoring.svc.cluster.local:80"

    assert m.grafana_url is not None
    return pulumi.Output.all(m.namespace, m.prometheus_url, m.alertmanager_url, m.grafana_url).apply(check)


@pulumi.runtime.test
def test_grafana_disabled_creates_no_password_secret_or_dashboard(mocks: RecordingMocks) -> pulumi.Output[None]:
    m, _ = _build(grafana_enabled=False, storage_class="gp3")
    assert m.grafana_admin_password is None
    assert m.grafana_url is None

    def check() -> None:
        types = {r.type for r in mocks.resources}
        assert "random:index/randomPassword:RandomPassword" not in types
        assert "kubernetes:core/v1:Secret" not in types
        assert "kubernetes:core/v1:ConfigMap" not in types
        assert "kubernetes:monitoring.coreos.com/v1:PrometheusRule" in types
        (release,) = mocks.of_type("kubernetes:helm.sh/v3:Release")
        values = release.inputs["values"]
        assert values["grafana"] == {"enabled": False}
        claim = values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
        assert claim["storageClassName"] == "gp3"

    return _after_registration(m, check)


@pulumi.runtime.test
def test_stack_values_carry_no_secret_material(mocks: RecordingMocks) -> None:
    provider = k8s.Provider("k8s-values", kubeconfig="{}")
    values = stack_values(
        MonitoringArgs(k8s_provider=provider, triton_namespace="triton", dashboard_path=DASHBOARD, cloud="local")
    )
    assert "adminPassword" not in values["grafana"]
    assert values["grafana"]["admin"] == {
        "existingSecret": GRAFANA_ADMIN_SECRET,
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("retention", "15 days", "e.g. '15d'"),
        ("storage_size", "20GB", "e.g. '20Gi'"),
        ("failure_ratio", 0, "e.g. 0.05"),
        ("queue_time_ms", 0, "e.g. 100"),
        ("namespace", "Monitoring", "e.g. 'monitoring'"),
        ("triton_namespace", "triton_ns", "e.g. 'monitoring'"),
        ("dashboard_path", "dashboards/missing.json", "dashboards/triton.json"),
        ("storage_class", "Fast SSD", "e.g. 'gp3'"),
    ],
)
@pulumi.runtime.test
def test_bad_args_name_the_field_and_give_an_example(
    mocks: RecordingMocks, field: str, value: Any, message: str
) -> None:
    provider = k8s.Provider("k8s-bad", kubeconfig="{}")
    args: dict[str, Any] = {
        "k8s_provider": provider,
        "triton_namespace": "triton",
        "dashboard_path": DASHBOARD,
        "cloud": "gcp",
    }
    args[field] = value
    with pytest.raises(pydantic.ValidationError) as err:
        MonitoringArgs(**args)
    text = str(err.value)
    assert field in text
    assert message in text


@pulumi.runtime.test
def test_unknown_args_are_rejected(mocks: RecordingMocks) -> None:
    provider = k8s.Provider("k8s-extra", kubeconfig="{}")
    with pytest.raises(pydantic.ValidationError, match="grafana_password"):
        MonitoringArgs(
            k8s_provider=provider,
            triton_namespace="triton",
            dashboard_path=DASHBOARD,
            cloud="local",
            grafana_password="hunter2",  # type: ignore[call-arg]
        )


@pulumi.runtime.test
def test_metrics_adapter_serves_tritons_rules_from_the_stacks_prometheus(mocks: RecordingMocks) -> pulumi.Output[None]:
    from components.monitoring.metrics_adapter import MetricsAdapter, MetricsAdapterArgs
    from triton_platform.values.autoscaling import adapter_rules

    provider = k8s.Provider("k8s", kubeconfig="{}")
    adapter = MetricsAdapter(
        "adapter",
        MetricsAdapterArgs(
            k8s_provider=provider,
            namespace="monitoring",
            triton_namespace="triton",
            prometheus_url=f"http://{RELEASE_NAME}-prometheus.monitoring.svc",
        ),
    )

    def check(_: Any) -> None:
        release = mocks.one("kubernetes:helm.sh/v3:Release").inputs
        pin = versions.PROMETHEUS_ADAPTER
        assert (release["chart"], release["version"], release["repositoryOpts"]["repo"]) == (
            pin.chart,
            pin.version,
            pin.repo,
        )
        assert release["namespace"] == "monitoring"
        values = release["values"]
        # Keys of the chart's values.yaml: prometheus.url/port/path, rules.default/custom/external.
        assert values["prometheus"] == {
            "url": "http://kube-prometheus-stack-prometheus.monitoring.svc",
            "port": 9090,
            "path": "",
        }
        assert values["rules"]["default"] is False
        assert values["rules"]["custom"] == adapter_rules("triton")
        for rule in values["rules"]["custom"]:
            assert set(rule) == {"seriesQuery", "resources", "name", "metricsQuery"}
            assert "<<.LabelMatchers>>" in rule["metricsQuery"]
            assert "<<.GroupBy>>" in rule["metricsQuery"]

    return adapter.release.id.apply(check)


def test_metrics_adapter_rejects_a_bad_namespace(mocks: RecordingMocks) -> None:
    from components.monitoring.metrics_adapter import MetricsAdapterArgs

    with pytest.raises(pydantic.ValidationError, match="namespace name"):
        MetricsAdapterArgs(
            k8s_provider=k8s.Provider("k8s-bad", kubeconfig="{}"),
            namespace="monitoring",
            triton_namespace="Triton_NS",
            prometheus_url="http://p",
        )


@pytest.mark.parametrize("cloud", ["local", "aws", "gcp", "azure"])
def test_stack_values_scrape_only_the_cluster_components_the_cloud_has(cloud: Cloud) -> None:
    """No cloud lets Prometheus reach the controller manager, scheduler, etcd or kube-proxy (see
    triton_platform/values/cluster_targets.py; tests/chart/test_kube_prometheus_stack_rules.py runs
    the real chart's rules through promtool); GKE's DNS is kube-dns, the others' CoreDNS."""
    args = MonitoringArgs.model_construct(  # type: ignore[call-arg]  # stack_values reads no provider
        triton_namespace="triton", dashboard_path=DASHBOARD, cloud=cloud
    )
    values = stack_values(args)
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert values[component] == {"enabled": False}, component
    assert values["coreDns"] == {"enabled": cloud != "gcp"}
    assert values["kubeDns"] == {"enabled": cloud == "gcp"}
    rules = values["defaultRules"]["rules"]
    assert not any(rules[s] for s in ("kubeControllerManager", "kubeSchedulerAlerting", "etcd", "kubeProxy"))
