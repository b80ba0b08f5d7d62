"""Which cluster components kube-prometheus-stack scrapes, and alerts on, on each cloud.

The chart's defaults (kube-prometheus-stack values.yaml, 66.3.1) scrape the controller manager,
the scheduler, etcd, kube-proxy and CoreDNS, and their alert rules (KubeControllerManagerDown,
KubeSchedulerDown, KubeProxyDown: ``absent(up{job=...} == 1)``; TargetDown: a target whose
scrapes fail) fire forever where a component is not there or not reachable. Each switch
(``kubeControllerManager.enabled`` ...) drops the component's Service, ServiceMonitor and rule
groups together; the matching ``defaultRules.rules`` switches are set alike, so the rules never
outlive their target. tests/chart/test_kube_prometheus_stack_rules.py renders the real chart per
cloud and proves with promtool that a healthy cluster's rules stay quiet.
"""

from __future__ import annotations

from typing import Any, Literal

from triton_platform.config.schema import Cloud

Component = Literal["kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy", "coreDns", "kubeDns"]

# The defaultRules.rules switches (chart templates/prometheus/rules-1.14/*.yaml) of each component.
RULE_SWITCHES: dict[Component, tuple[str, ...]] = {
    "kubeControllerManager": ("kubeControllerManager",),
    "kubeScheduler": ("kubeSchedulerAlerting", "kubeSchedulerRecording"),
    "kubeEtcd": ("etcd",),
    "kubeProxy": ("kubeProxy",),
    "coreDns": (),
    "kubeDns": (),
}

_CONTROL_PLANE_OFF: dict[Component, bool] = {
    # EKS, GKE and AKS run the controller manager, scheduler and etcd out of the cluster's reach;
    # kind binds them to the node's 127.0.0.1 (below).
    "kubeControllerManager": False,
    "kubeScheduler": False,
    "kubeEtcd": False,
}

# What exists and answers Prometheus on each cloud's clusters as this platform builds them.
SCRAPED: dict[Cloud, dict[Component, bool]] = {
    # kind (kubeadm) binds the controller manager, scheduler and etcd metrics to 127.0.0.1 and
    # kube-proxy's to 127.0.0.1:10249 (prometheus-community/helm-charts#1704); CoreDNS serves :9153.
    "local": {**_CONTROL_PLANE_OFF, "kubeProxy": False, "coreDns": True, "kubeDns": False},
    # The EKS kube-proxy add-on's kube-proxy-config binds metrics to 127.0.0.1:10249
    # (aws/containers-roadmap#657, prometheus-community/helm-charts#977); its CoreDNS serves :9153.
    "aws": {**_CONTROL_PLANE_OFF, "kubeProxy": False, "coreDns": True, "kubeDns": False},
    # GKE Dataplane V2 (components/gcp/gke_cluster.py: ADVANCED_DATAPATH) runs no kube-proxy, and
    # GKE's DNS is kube-dns (metrics on 10054/10055): the chart's coreDns Service would select the
    # same k8s-app=kube-dns pods on :9153, which they do not serve (TargetDown).
    "gcp": {**_CONTROL_PLANE_OFF, "kubeProxy": False, "coreDns": False, "kubeDns": True},
    # AKS with Azure CNI powered by Cilium (components/azure/aks_cluster.py: network_dataplane
    # cilium) replaces kube-proxy; CoreDNS serves :9153.
    "azure": {**_CONTROL_PLANE_OFF, "kubeProxy": False, "coreDns": True, "kubeDns": False},
}


def scrape_values(cloud: Cloud) -> dict[str, Any]:
    """kube-prometheus-stack values switching each component (and its rules) to what ``cloud`` has."""
    scraped = SCRAPED[cloud]
    values: dict[str, Any] = {component: {"enabled": on} for component, on in scraped.items()}
    rules = {switch: scraped[c] for c, switches in RULE_SWITCHES.items() for switch in switches}
    values["defaultRules"] = {"rules": rules}
    return values
