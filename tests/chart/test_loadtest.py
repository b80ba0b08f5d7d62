"""The `helm test` load test the chart renders from the stack config: one perf_analyzer run per model.

Rendered with the real helm from triton_values() (with the fullnameOverride the TritonServer
component adds), validated against the Kubernetes 1.30/1.31 schemas and scanned by checkov. The
command lines are the ones triton_platform.values.autoscaling.perf_analyzer_args builds (and
tests/chart/test_perf_analyzer.py runs against a real Triton); they must address the
Service the chart renders and take input shapes from the models' ONNX graphs.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from components.serving.triton_server import TritonServerArgs
from tests.chart.conftest import CHART_DIR, RELEASE, run_helm
from tests.support import checkov
from tests.support.configs import raw_config
from tests.support.helm import render_triton
from tests.support.stacks import REPO
from tests.support.tools import helm_path
from triton_platform.config import PlatformConfig, parse_config
from triton_platform.publisher.shapes import model_shapes
from triton_platform.values import autoscaling
from triton_platform.values.triton import triton_values

pytestmark = pytest.mark.chart

KUBERNETES_VERSIONS = ("1.30", "1.31")
MODELS = [
    {"name": "sample-mlp", "source": "samples/sample-mlp/model.onnx", "format": "onnx", "maxBatchSize": 32},
    {"name": "python-onnx", "source": "samples/python-onnx", "format": "python", "maxBatchSize": 8},
]
LOAD_TEST = {
    "concurrency": {"start": 2, "end": 8, "step": 2},
    "measurementIntervalMs": 4000,
    "batchSize": 16,
    "maxP99LatencyMs": 250,
    "minThroughput": 50,
    "protocol": "grpc",
}
# Core checkov checks every load-test Job must pass (no exception possible).
REQUIRED_PASS = {
    "CKV_K8S_10",
    "CKV_K8S_11",
    "CKV_K8S_12",
    "CKV_K8S_13",
    "CKV_K8S_14",
    "CKV_K8S_16",
    "CKV_K8S_20",
    "CKV_K8S_21",
    "CKV_K8S_22",
    "CKV_K8S_23",
    "CKV_K8S_25",
    "CKV_K8S_28",
    "CKV_K8S_29",
    "CKV_K8S_30",
    "CKV_K8S_31",
    "CKV_K8S_37",
    "CKV_K8S_38",
    "CKV_K8S_39",
    "CKV_K8S_40",
}
# Tag, not digest: the SDK image follows the server's NGC release tag (chart README, Security exceptions).
ALLOWED_FAILURES = {"CKV_K8S_15", "CKV_K8S_43"}


def _cfg(**triton: Any) -> PlatformConfig:
    raw = raw_config("local", models=MODELS, triton=triton)
    return parse_config(raw, base_dir=REPO, stack="test")


def _values(cfg: PlatformConfig) -> dict[str, Any]:
    values = triton_values(cfg, repository_uri="s3://bucket/models", base_dir=REPO)
    # What the TritonServer component adds: the Service is named after the release.
    values["fullnameOverride"] = TritonServerArgs.model_fields["release_name"].default
    return values


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory, samples_built: Path) -> list[dict[str, Any]]:
    return render_triton(_values(_cfg(loadTest=LOAD_TEST)), tmp_path_factory.mktemp("loadtest"))


def _one(docs: list[dict[str, Any]], kind: str, component: str | None = None) -> dict[str, Any]:
    found = [
        d
        for d in docs
        if d["kind"] == kind
        and (component is None or d["metadata"]["labels"].get("app.kubernetes.io/component") == component)
    ]
    assert len(found) == 1, [d["metadata"]["name"] for d in found]
    return found[0]


def _plan(docs: list[dict[str, Any]]) -> dict[str, Any]:
    plan: dict[str, Any] = json.loads(_one(docs, "ConfigMap", "loadtest")["data"]["plan.json"])
    return plan


def test_one_run_per_model_built_by_the_command_builder(docs: list[dict[str, Any]]) -> None:
    plan = _plan(docs)
    cfg = _cfg(loadTest=LOAD_TEST)
    assert [r["model"] for r in plan["runs"]] == [m.name for m in cfg.models]
    service = next(d for d in docs if d["kind"] == "Service" and "grpc" in {p["name"] for p in d["spec"]["ports"]})
    grpc = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "grpc")
    url = f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local:{grpc}"
    for run, spec in zip(plan["runs"], cfg.models, strict=True):
        shapes = model_shapes(spec, REPO)
        assert run["command"] == autoscaling.perf_analyzer_args(shapes, cfg.triton.load_test, url)
        command = run["command"]
        # The in-cluster Service the chart renders, over the configured protocol.
        assert command[command.index("-u") + 1] == url
        assert command[command.index("-i") + 1] == "grpc"
        assert command[command.index("--concurrency-range") + 1] == "2:8:2"
        assert command[command.index("--measurement-interval") + 1] == "4000"
        assert "--percentile=99" in command
    assert plan["thresholds"] == {"maxP99LatencyMs": 250, "minThroughput": 50, "maxErrors": 0}


def test_shapes_come_from_the_onnx_graphs(docs: list[dict[str, Any]]) -> None:
    import onnx

    runs = {r["model"]: r["command"] for r in _plan(docs)["runs"]}
    for name, path in (
        ("sample-mlp", "samples/sample-mlp/model.onnx"),
        ("python-onnx", "samples/python-onnx/model.onnx"),
    ):
        graph = onnx.load(str(REPO / path)).graph
        (inp,) = graph.input
        dims = [d.dim_value for d in inp.type.tensor_type.shape.dim][1:]  # without the batch dimension
        command = runs[name]
        assert command[command.index("--shape") + 1] == f"{inp.name}:{','.join(map(str, dims))}"
    # Batch size capped at each model's maxBatchSize.
    assert runs["sample-mlp"][runs["sample-mlp"].index("-b") + 1] == "16"
    assert runs["python-onnx"][runs["python-onnx"].index("-b") + 1] == "8"


def test_job_is_a_helm_test_in_the_sdk_image(docs: list[dict[str, Any]]) -> None:
    job = _one(docs, "Job")
    deployment = _one(docs, "Deployment")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["activeDeadlineSeconds"] == 900
    (container,) = job["spec"]["template"]["spec"]["containers"]
    server_image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    release = re.fullmatch(r"nvcr\.io/nvidia/tritonserver:(\d{2}\.\d{2})-py3", server_image)
    assert release, server_image
    assert container["image"] == f"nvcr.io/nvidia/tritonserver:{release.group(1)}-py3-sdk"
    assert container["command"][:2] == ["python3", "/etc/loadtest/loadtest.py"]
    # The runner shipped is the chart's file, byte for byte.
    runner = _one(docs, "ConfigMap", "loadtest")["data"]["loadtest.py"]
    assert runner.strip() == (CHART_DIR / "files" / "loadtest.py").read_text().strip()
    assert _one(docs, "ConfigMap", "loadtest")["metadata"]["annotations"]["helm.sh/hook"] == "test"


def test_test_pod_is_not_a_triton_pod_but_may_call_it(docs: list[dict[str, Any]]) -> None:
    job = _one(docs, "Job")
    labels = job["spec"]["template"]["metadata"]["labels"]
    deployment = _one(docs, "Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert not all(labels.get(k) == v for k, v in selector.items()), "the Deployment/Services/PDB would select it"
    triton_np = next(d for d in docs if d["kind"] == "NetworkPolicy" and "loadtest" not in d["metadata"]["name"])
    peers = [p for rule in triton_np["spec"]["ingress"] for p in rule["from"]]
    assert any(
        p.get("podSelector", {}).get("matchLabels")
        and all(labels.get(k) == v for k, v in p["podSelector"]["matchLabels"].items())
        for p in peers
    )
    own = _one(docs, "NetworkPolicy", "loadtest")
    assert all(labels.get(k) == v for k, v in own["spec"]["podSelector"]["matchLabels"].items())
    assert own["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_no_load_test_without_models_or_when_disabled(tmp_path: Path, samples_built: Path) -> None:
    values = _values(_cfg(loadTest={"enabled": False}))
    kinds = {(d["kind"], d["metadata"]["name"]) for d in render_triton(values, tmp_path)}
    assert not [k for k in kinds if k[0] == "Job"]
    assert not [k for k in kinds if k[1].endswith("-loadtest")]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_load_test_objects_validate(docs: list[dict[str, Any]], version: str) -> None:
    validated = [d for d in docs if d["kind"] in ("Job", "ConfigMap", "NetworkPolicy", "HorizontalPodAutoscaler")]
    assert validated, "the chart rendered no load-test object to validate"
    for doc in validated:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{doc['kind']}/{doc['metadata']['name']} on {version}: {'.'.join(map(str, exc.path))}: {exc.message}"
            )


def test_checkov_core_checks_pass_on_the_job(tmp_path: Path) -> None:
    values = _values(_cfg(loadTest=LOAD_TEST, autoscaling={"enabled": True}))
    proc = run_helm(
        helm_path(),
        "template",
        RELEASE,
        str(CHART_DIR),
        "--namespace",
        "triton",
        "-f",
        str(_write(tmp_path / "values.yaml", values)),
    )
    assert proc.returncode == 0, proc.stderr
    report = checkov.scan(proc.stdout, tmp_path)
    passed = checkov.check_ids(report, "passed_checks", ("Job.",))
    assert passed >= REQUIRED_PASS, sorted(REQUIRED_PASS - passed)
    failed = checkov.check_ids(
        report, "failed_checks", ("Job.", "HorizontalPodAutoscaler.", "NetworkPolicy.", "ConfigMap.")
    )
    assert failed <= ALLOWED_FAILURES, failed


def _write(path: Path, values: dict[str, Any]) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(values))
    return path


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--set", "loadTest.plan.thresholds.maxErrors=1"], ["loadTest", "maxErrors"]),
        (["--set", "loadTest.plan.thresholds.maxP99LatencyMs=0"], ["loadTest", "maxP99LatencyMs"]),
        (["--set", "loadTest.image.tag=latest"], ["loadTest", "tag"]),
        (
            ["--set", "loadTest.plan.runs[0].model=m", "--set", "loadTest.plan.runs[0].command[0]=perf_analyzer"],
            ["command"],
        ),
        (["--set", "loadTest.concurrency=4"], ["loadTest", "concurrency"]),
    ],
    ids=["errors-allowed", "zero-latency", "not-sdk-tag", "command-without-url", "unknown-key"],
)
def test_chart_schema_rejects_bad_load_test(helm: Path, args: list[str], needles: list[str]) -> None:
    proc = run_helm(helm, "template", RELEASE, str(CHART_DIR), *args)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    for needle in needles:
        assert needle in out, out


def test_make_loadtest_runs_helm_test_with_the_stacks_kubeconfig(tmp_path: Path) -> None:
    """`make loadtest STACK=prod` with stand-ins for pulumi and helm that record what they are asked."""
    import os
    import shutil

    make = shutil.which("make")
    assert make, "make is needed for `make loadtest`"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    (bin_dir / "pulumi").write_text(
        "#!/bin/sh\n"
        f'echo "pulumi $*" >> {log}\n'
        'case "$*" in *kubeconfig*) echo "apiVersion: v1";; *tritonNamespace*) echo "triton-prod";; esac\n'
    )
    (bin_dir / "helm").write_text(
        f'#!/bin/sh\necho "helm $*" >> {log}\n'
        # The kubeconfig file exists and is private while helm runs.
        'kc=$(echo "$*" | sed -n "s/.*--kubeconfig \\([^ ]*\\).*/\\1/p")\n'
        f'stat -c "%a %s" "$kc" >> {log}\n'
        'echo "=== load test: passed"\n'
    )
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HELM": str(bin_dir / "helm")}
    proc = subprocess.run(
        [make, "-s", "loadtest", "STACK=prod"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "=== load test: passed" in proc.stdout
    calls = log.read_text().splitlines()
    assert "pulumi stack output --stack prod --show-secrets kubeconfig" in calls
    assert "pulumi stack output --stack prod tritonNamespace" in calls
    (helm_call,) = [c for c in calls if c.startswith("helm ")]
    assert helm_call.startswith("helm test triton --namespace triton-prod --kubeconfig ")
    assert helm_call.endswith("--logs --timeout 30m")
    mode, size = calls[-1].split()
    assert mode == "600"
    assert int(size) > 0
