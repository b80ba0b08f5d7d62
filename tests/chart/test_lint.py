"""The chart's packaging: helm lint --strict, the values schema, documentation and layout rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import CHART_DIR, CI_DIR, SCENARIOS, WITH_SERVICEMONITOR_API, parse, render, run_helm
from triton_platform.catalog import versions

pytestmark = pytest.mark.chart


def _lint(helm: Path, *args: str) -> tuple[int, str]:
    proc = run_helm(helm, "lint", "--strict", str(CHART_DIR), *args)
    return proc.returncode, proc.stdout + proc.stderr


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "triton-inference-server"
    assert chart["version"] == "0.1.0"
    assert chart["appVersion"] == "2.54.0"
    assert chart["kubeVersion"] == ">=1.28.0-0"


def test_defaults_follow_pinned_versions() -> None:
    # The chart's default image and appVersion are the platform's pinned NGC release.
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    release = versions.NGC_RELEASES[versions.DEFAULT_NGC_RELEASE]
    assert f"{values['image']['repository']}:{values['image']['tag']}" == versions.triton_image(release.release)
    assert chart["appVersion"] == release.triton


def test_lint_strict_defaults(helm: Path) -> None:
    rc, out = _lint(helm)
    assert rc == 0, out
    assert "0 chart(s) failed" in out


def test_every_example_is_a_scenario() -> None:
    # A new ci/*.yaml without a scenario would be linted but never rendered and asserted on.
    assert {p.name for p in CI_DIR.glob("*.yaml")} == {s.values_file.name for s in SCENARIOS}


@pytest.mark.parametrize("values_file", sorted(CI_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_lint_strict_example(helm: Path, values_file: Path) -> None:
    rc, out = _lint(helm, "--values", str(values_file))
    assert rc == 0, out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "replicaCount=0"], ["/replicaCount", "minimum"]),
        (["--set", "service.type=Foo"], ["/service/type", "ClusterIP"]),
        (["--set", "colour=blue"], ["colour", "not allowed"]),
        (["--set", "image.pullPolicy=Sometimes"], ["/image/pullPolicy"]),
        (["--set", "triton.modelControlMode=auto"], ["/triton/modelControlMode"]),
        (["--set", "service.nodePorts.http=8000"], ["/service/nodePorts/http"]),
        (["--set", "triton.unknownFlag=true"], ["unknownFlag", "not allowed"]),
        (["--set-json", 'gpu={"resources":{"nvidia.com/gpu":0}}'], ["/gpu/resources/nvidia.com~1gpu", "minimum"]),
        (["--set", "resources.requests.memory=null"], ["/resources/requests", "memory"]),
        (["--set", "modelRepository.uri="], ["/modelRepository/uri"]),
        (["--set", "image.digest=latest"], ["/image/digest"]),
        (["--set", "networkPolicy.prometheusNamespace=Not_A_Namespace"], ["/networkPolicy/prometheusNamespace"]),
    ],
    ids=[
        "replicaCount-0",
        "service-type-Foo",
        "unknown-top-level-key",
        "bad-pull-policy",
        "bad-control-mode",
        "nodeport-out-of-range",
        "unknown-nested-key",
        "zero-gpus",
        "memory-request-missing",
        "empty-model-repository",
        "bad-digest",
        "bad-namespace",
    ],
)
def test_schema_rejects_bad_values(helm: Path, args: list[str], expected: list[str]) -> None:
    rc, out = _lint(helm, *args)
    assert rc != 0, f"helm lint accepted {args}:\n{out}"
    # helm reports JSON-schema violations as "at '<JSON pointer>': <reason>".
    assert re.search(r"at '[^']*': ", out), out
    for needle in expected:
        assert needle in out, f"helm's error does not name {needle!r}:\n{out}"


def test_kube_version_constraint(helm: Path) -> None:
    proc = run_helm(helm, "template", "t", str(CHART_DIR), "--kube-version", "1.27.0")
    assert proc.returncode != 0
    assert ">=1.28.0-0" in proc.stderr
    assert run_helm(helm, "template", "t", str(CHART_DIR), "--kube-version", "1.30.0").returncode == 0


def _keys_with_comments(text: str) -> list[tuple[str, bool]]:
    """(dotted key, has a comment on the line above) for every key of a values.yaml."""
    out: list[tuple[str, bool]] = []
    stack: list[tuple[int, str]] = []
    prev = ""
    for line in text.splitlines():
        m = re.match(r"^( *)([A-Za-z][A-Za-z0-9_]*):", line)
        if m:
            indent, key = len(m.group(1)), m.group(2)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, key))
            out.append((".".join(k for _, k in stack), prev.lstrip().startswith("#")))
        if line.strip():
            prev = line
    return out


def test_every_value_is_documented() -> None:
    keys = _keys_with_comments((CHART_DIR / "values.yaml").read_text())
    assert len(keys) > 60  # the parser found the keys (nested ones included)
    undocumented = [k for k, documented in keys if not documented]
    assert undocumented == [], f"values.yaml keys without a comment above them: {undocumented}"


def _schema_paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        paths.add(path)
        paths |= _schema_paths(sub, f"{path}.")
    return paths


def test_schema_matches_values() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is False
    # The main objects reject unknown keys too.
    for key in ("image", "modelRepository", "triton", "ports", "service", "metrics", "gpu", "resources"):
        assert schema["properties"][key]["additionalProperties"] is False, key
    for key in ("serviceAccount", "probes", "podDisruptionBudget", "networkPolicy", "autoscaling"):
        assert schema["properties"][key]["additionalProperties"] is False, key
    value_keys = {k for k, _ in _keys_with_comments((CHART_DIR / "values.yaml").read_text())}
    # Keys under free-form maps (labels, selectors, quantities) are not schema properties.
    schema_keys = _schema_paths(schema)
    assert value_keys - schema_keys == set(), "values.yaml keys missing from values.schema.json"
    free_form = {"clientNamespaceSelector", "clientPodSelector", "strategy"}
    missing_in_values = {k for k in schema_keys - value_keys if not any(f in k.split(".")[:-1] for f in free_form)}
    assert missing_in_values == set(), "schema properties without a default in values.yaml"


def test_one_resource_per_template(helm: Path) -> None:
    # Everything optional switched on, so every template renders.
    text = render(
        helm,
        # hpa-values also carries a load-test plan: the helm-test templates render too.
        [CI_DIR / "nodeport-values.yaml", CI_DIR / "hpa-values.yaml"],
        *WITH_SERVICEMONITOR_API,
        "--set",
        "autoscaling.enabled=true",
        # rollout.strategy canary: the Rollout, its AnalysisTemplate and the stable/canary Services.
        "--set",
        "rollout.strategy=canary",
        "--set-json",
        'rollout.analysis.spec={"metrics": []}',
    )
    per_template: dict[str, int] = {}
    for chunk in re.split(r"^---$", text, flags=re.MULTILINE):
        if not chunk.strip():
            continue
        m = re.search(r"^# Source: triton-inference-server/templates/(\S+)$", chunk, re.MULTILINE)
        assert m, chunk[:200]
        per_template[m.group(1)] = per_template.get(m.group(1), 0) + len(parse(chunk))
    expected = {
        "deployment.yaml",
        "service.yaml",
        "service-metrics.yaml",
        "servicemonitor.yaml",
        "poddisruptionbudget.yaml",
        "networkpolicy.yaml",
        "hpa.yaml",
        "serviceaccount.yaml",
        "rollout.yaml",
        "analysistemplate.yaml",
        "service-stable.yaml",
        "service-canary.yaml",
        "tests/loadtest-configmap.yaml",
        "tests/loadtest-job.yaml",
        "tests/loadtest-networkpolicy.yaml",
    }
    assert set(per_template) == expected
    assert set(per_template.values()) == {1}
    templates = {
        str(p.relative_to(CHART_DIR / "templates")) for p in (CHART_DIR / "templates").rglob("*") if p.is_file()
    }
    assert templates == expected | {"_helpers.tpl", "NOTES.txt"}


def test_helpers_are_namespaced() -> None:
    helpers = (CHART_DIR / "templates" / "_helpers.tpl").read_text()
    names = re.findall(r'define "([^"]+)"', helpers)
    for required in ("fullname", "labels", "selectorLabels", "serviceAccountName", "name", "chart"):
        assert f"triton-inference-server.{required}" in names
    assert all(n.startswith("triton-inference-server.") for n in names), names


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], ["port-forward service/triton-triton-inference-server 8000:8000 8001:8001"]),
        (["--values", str(CI_DIR / "nodeport-values.yaml")], ["nodePort", "127.0.0.1:30800"]),
        (["--values", str(CI_DIR / "loadbalancer-values.yaml")], ["status.loadBalancer.ingress", "10.0.0.0/16"]),
    ],
    ids=["clusterip", "nodeport", "loadbalancer"],
)
def test_notes(helm: Path, values: list[str], expected: list[str]) -> None:
    proc = run_helm(helm, "install", "triton", str(CHART_DIR), "--namespace", "triton", "--dry-run=client", *values)
    assert proc.returncode == 0, proc.stderr
    notes = proc.stdout.split("NOTES:", 1)[1]
    for needle in [*expected, "/v2/health/ready", "tritonclient.http", "InferenceServerClient"]:
        assert needle in notes, f"{needle!r} not in NOTES:\n{notes}"
