"""kube-prometheus-stack's rules with our values, per cloud: quiet on a healthy cluster (promtool).

The chart (prometheus-community/helm-charts, tag ``kube-prometheus-stack-<version>`` pinned in
``triton_platform/catalog/versions.py``) comes from its chart repository at ``pulumi up`` and is not
vendored; point ``KUBE_PROMETHEUS_STACK_CHART`` at the chart directory at that version with its
dependencies in ``charts/`` (``helm pull prometheus-community/kube-prometheus-stack --version
<pin> --untar``). Without it these tests skip, saying so.

For each cloud the chart is rendered with ``components/monitoring/monitoring.py``'s values; its
PrometheusRules (and ours, for Triton) are run through ``promtool test rules`` on the series of a
healthy cluster of that cloud: ``up`` = 1 for each rendered scrape target that exists and answers
there, 0 for one that exists but does not answer, none for one that does not exist (``REALITY``,
sources in ``triton_platform/values/cluster_targets.py``). No alert may fire but Watchdog (which
always does: it proves the harness evaluates) and InfoInhibitor. With the chart's own defaults the
same harness fires KubeControllerManagerDown, KubeSchedulerDown, KubeProxyDown and TargetDown, as
issue 17 (and prometheus-community/helm-charts#1704 for kind) reports.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

from components.monitoring.monitoring import MonitoringArgs, stack_values
from tests.support.prometheus import check_rules, run_rule_tests
from tests.support.stacks import REPO
from tests.support.tools import helm_path
from triton_platform.catalog.versions import DEFAULT_KUBERNETES_VERSION, KUBE_PROMETHEUS_STACK
from triton_platform.values.alerts import build_rule_groups
from triton_platform.values.cluster_targets import RULE_SWITCHES, SCRAPED, Cloud

pytestmark = pytest.mark.chart
ENV = "KUBE_PROMETHEUS_STACK_CHART"
CLOUDS: tuple[Cloud, ...] = ("local", "aws", "gcp", "azure")
State = Literal["up", "down", "absent"]
# The cluster-level jobs the chart can scrape (job = the Service's jobLabel value) and what a
# healthy cluster of each cloud gives them: up (answers), down (pods match but do not answer on
# that port: up == 0), absent (nothing matches: no series). Everything else the chart scrapes runs
# in the monitoring namespace (Prometheus, Alertmanager, the operator, Grafana, kube-state-metrics,
# node-exporter) and is up, as are the API server and the kubelets everywhere.
REALITY: dict[Cloud, dict[str, State]] = {
    # kubeadm's static pods (component=...) exist but listen on 127.0.0.1; so does kube-proxy.
    # CoreDNS pods carry k8s-app=kube-dns, which the chart's kubeDns Service also selects (10054/5).
    "local": {
        "kube-controller-manager": "down",
        "kube-scheduler": "down",
        "kube-etcd": "down",
        "kube-proxy": "down",
        "coredns": "up",
        "kube-dns": "down",
    },
    "aws": {
        "kube-controller-manager": "absent",
        "kube-scheduler": "absent",
        "kube-etcd": "absent",
        "kube-proxy": "down",
        "coredns": "up",
        "kube-dns": "down",
    },
    "gcp": {
        "kube-controller-manager": "absent",
        "kube-scheduler": "absent",
        "kube-etcd": "absent",
        "kube-proxy": "absent",
        "coredns": "down",
        "kube-dns": "up",
    },
    "azure": {
        "kube-controller-manager": "absent",
        "kube-scheduler": "absent",
        "kube-etcd": "absent",
        "kube-proxy": "absent",
        "coredns": "up",
        "kube-dns": "down",
    },
}
Render = Callable[[Cloud, bool], list[dict[str, Any]]]
EVAL = "5h"  # past the longest `for:` of the chart's rules (4h)


@pytest.fixture(scope="module")
def chart() -> Path:
    path = os.environ.get(ENV)
    if not path or not (Path(path) / "Chart.yaml").is_file():
        pytest.skip(f"{ENV} is not set to a kube-prometheus-stack {KUBE_PROMETHEUS_STACK.version} chart directory")
    version = yaml.safe_load((Path(path) / "Chart.yaml").read_text())["version"]
    assert version == KUBE_PROMETHEUS_STACK.version, f"{ENV} is chart {version}, the stack pins it"
    return Path(path)


@pytest.fixture(scope="module")
def rendered(chart: Path, tmp_path_factory: pytest.TempPathFactory) -> Render:
    """The chart rendered with our values for a cloud (``defaults``: less the per-cloud switches), once each."""
    cache: dict[tuple[Cloud, bool], list[dict[str, Any]]] = {}

    def render(cloud: Cloud, defaults: bool) -> list[dict[str, Any]]:
        if (cloud, defaults) not in cache:
            values = _values(cloud)
            if defaults:
                values = {k: v for k, v in values.items() if k not in {*SCRAPED[cloud], "defaultRules"}}
            cache[cloud, defaults] = _render(chart, values, tmp_path_factory.mktemp(f"kps-{cloud}"))
        return cache[cloud, defaults]

    return render


def _values(cloud: Cloud) -> dict[str, Any]:
    # stack_values reads plain fields only: no Pulumi provider needed (nor validation to run).
    args = MonitoringArgs.model_construct(  # type: ignore[call-arg]
        triton_namespace="triton", dashboard_path=str(REPO / "dashboards" / "triton.json"), cloud=cloud
    )
    return stack_values(args)


def _render(chart: Path, values: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    cmd = [str(helm_path()), "template", "kube-prometheus-stack", str(chart), "-n", "monitoring"]
    proc = subprocess.run(
        [*cmd, "-f", str(values_file), "--kube-version", f"{DEFAULT_KUBERNETES_VERSION}.0"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def _targets(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, str], list[str]]]:
    """(job, target labels, metrics paths) of each rendered ServiceMonitor (prometheus-operator:
    job = the Service's ``jobLabel`` label, else the Service's name)."""
    services = [d for d in docs if d["kind"] == "Service"]
    out = []
    for sm in (d for d in docs if d["kind"] == "ServiceMonitor"):
        spec, selector = sm["spec"], sm["spec"]["selector"]["matchLabels"]
        matching = [s for s in services if selector.items() <= (s["metadata"].get("labels") or {}).items()]
        service = matching[0]["metadata"] if matching else {"name": sm["metadata"]["name"], "labels": selector}
        job_label = spec.get("jobLabel")
        job = (service.get("labels") or {}).get(job_label) or selector.get(job_label) or service["name"]
        namespace = (spec.get("namespaceSelector") or {}).get("matchNames", ["monitoring"])[0]
        labels = {"job": job, "namespace": namespace, "service": service["name"]}
        out.append((job, labels, sorted({e.get("path") or "/metrics" for e in spec["endpoints"]})))
    return out


def _rules(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [g for d in docs if d["kind"] == "PrometheusRule" for g in d["spec"]["groups"]]


def _healthy_series(cloud: Cloud, docs: list[dict[str, Any]]) -> list[dict[str, str]]:
    series = []
    for job, labels, paths in _targets(docs):
        state = REALITY[cloud].get(job, "up")
        if state == "absent":
            continue
        for i, path in enumerate(paths):
            body = ", ".join(
                f'{k}="{v}"' for k, v in {**labels, "metrics_path": path, "instance": f"10.0.0.{i}:1"}.items()
            )
            series.append({"series": f"up{{{body}}}", "values": f"{1 if state == 'up' else 0}x300"})
    # Triton itself, for our own rules (tests/triton_platform/values/test_alert_rules.py has the rest).
    series.append({"series": 'up{job="triton-metrics", namespace="triton", pod="triton-0"}', "values": "1x300"})
    return series


def _quiet_case(groups: list[dict[str, Any]], series: list[dict[str, str]]) -> dict[str, Any]:
    tests = []
    for name in sorted({r["alert"] for g in groups for r in g["rules"] if "alert" in r} - {"InfoInhibitor"}):
        expected: list[dict[str, Any]] = []
        if name == "Watchdog":
            (rule,) = [r for g in groups for r in g["rules"] if r.get("alert") == "Watchdog"]
            expected = [{"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}]
        tests.append({"eval_time": EVAL, "alertname": name, "exp_alerts": expected})
    return {"interval": "1m", "input_series": series, "alert_rule_test": tests}


def _firing(cloud: Cloud, docs: list[dict[str, Any]], tmp_path: Path) -> set[str]:
    """The alerts that fire on a healthy ``cloud`` cluster (promtool's failures), Watchdog excepted."""
    groups = _rules(docs) + build_rule_groups("triton")
    check = check_rules(groups, tmp_path, "--lint=none")
    assert check.returncode == 0, check.stdout + check.stderr
    proc = run_rule_tests(groups, [_quiet_case(groups, _healthy_series(cloud, docs))], tmp_path)
    output = proc.stdout + proc.stderr
    failed = set(re.findall(r"alertname: (\w+), time:", output))
    assert (proc.returncode == 0) == (not failed), output
    assert "Watchdog" not in failed, output
    return failed


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_healthy_cluster_is_quiet_with_our_values(rendered: Render, cloud: Cloud, tmp_path: Path) -> None:
    assert _firing(cloud, rendered(cloud, False), tmp_path) == set()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_we_scrape_exactly_what_exists(rendered: Render, cloud: Cloud) -> None:
    jobs = {job for job, _labels, _paths in _targets(rendered(cloud, False))}
    cluster = {job for job in REALITY[cloud] if job in jobs}
    assert cluster == {job for job, state in REALITY[cloud].items() if state == "up"}
    assert {"apiserver", "kubelet"} <= jobs


def test_the_switches_are_the_charts_own(chart: Path) -> None:
    """Every component and defaultRules switch we set is a key of the pinned chart's values.yaml."""
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    assert SCRAPED["gcp"], "no scraped component to check"
    for component in SCRAPED["gcp"]:
        assert isinstance(defaults[component]["enabled"], bool), component
    for switch in (s for switches in RULE_SWITCHES.values() for s in switches):
        assert isinstance(defaults["defaultRules"]["rules"][switch], bool), switch


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [
        ("gcp", {"KubeControllerManagerDown", "KubeSchedulerDown", "KubeProxyDown", "TargetDown"}),
        (
            "local",
            # At chart 88.5.3 the *Down rules are absent(up{job=...}) (66.3.1: `== 1`): a target that is
            # scraped but down (kind's control plane and kube-proxy bind 127.0.0.1; EKS' kube-proxy too)
            # fires TargetDown only.
            {
                "TargetDown",
                "etcdMembersDown",
                "etcdInsufficientMembers",
            },
        ),
        ("aws", {"KubeControllerManagerDown", "KubeSchedulerDown", "TargetDown"}),
        ("azure", {"KubeControllerManagerDown", "KubeSchedulerDown", "KubeProxyDown"}),
    ],
)
def test_the_charts_defaults_fire_forever(rendered: Render, cloud: Cloud, expected: set[str], tmp_path: Path) -> None:
    """The harness sees the bug: our values less the per-cloud switches (what main deployed)."""
    assert expected <= _firing(cloud, rendered(cloud, True), tmp_path)
