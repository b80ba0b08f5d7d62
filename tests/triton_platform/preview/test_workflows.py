"""The two workflows, validated offline: GitHub's workflow schema (check-jsonschema's vendored
copy of SchemaStore's github-workflow.json) and zizmor's security audits (no finding at medium
severity or above, with the auditor persona, which shows everything), plus what issue 8 asks of them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(".github/workflows")
FILES = [WORKFLOWS / "preview.yml", WORKFLOWS / "deploy.yml"]
BIN = Path(sys.executable).parent
_PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def _steps(wf: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in wf["jobs"].values() for s in job.get("steps", [])]


def _tool(name: str) -> str:
    path = BIN / name
    assert path.is_file(), f"{name} is missing from the test venv: install requirements-dev.txt"
    return str(path)


def test_schema_valid() -> None:
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_has_no_medium_or_higher_finding() -> None:
    result = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--persona",
            "auditor",
            "--min-severity",
            "medium",
            "--format",
            "plain",
            *map(str, FILES),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_actions_pinned_and_least_privilege(path: Path) -> None:
    text = path.read_text()
    wf = _load(path)
    assert wf["permissions"] == {}
    for job in wf["jobs"].values():
        assert "permissions" in job  # every job states what it needs
        assert "write-all" not in str(job["permissions"])
    for line in text.splitlines():
        m = re.match(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", line)
        if m:
            assert _PINNED.match(m.group(1)), line
            assert re.search(r"#\s*v\d+(\.\d+)*", m.group(2)), f"no version comment: {line}"
    for step in _steps(wf):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
    # Keyless only: no static cloud keys from secrets anywhere.
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "aws-access-key-id",
        "credentials_json",
        "creds:",
        "GOOGLE_CREDENTIALS",
        "ARM_CLIENT_SECRET",
        "client-secret",
    ):
        assert key not in text, key


def test_preview_workflow() -> None:
    wf = _load(WORKFLOWS / "preview.yml")
    assert set(wf["on"]) == {"pull_request"}
    jobs = wf["jobs"]
    preview, comment = jobs["preview"], jobs["comment"]
    # Forks never get cloud credentials: the jobs that log in (and comment) only run for this repo's branches.
    for job in (preview, comment):
        assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    assert preview["permissions"] == {"contents": "read", "id-token": "write"}
    assert comment["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "always()" in comment["if"]  # a failed preview still gets its section
    uses = [str(s.get("uses", "")).split("@")[0] for s in _steps(wf)]
    for action in (
        "pulumi/actions",
        "aws-actions/configure-aws-credentials",
        "google-github-actions/auth",
        "azure/login",
        "actions/upload-artifact",
        "actions/download-artifact",
        "marocchino/sticky-pull-request-comment",
    ):
        assert action in uses, action
    run = "\n".join(str(s.get("run", "")) for s in preview["steps"])
    for flag in (
        "pulumi preview",
        "--diff",
        "--event-log",
        "--save-plan",
        "--policy-pack policy",
        "--policy-pack-config",
        "GITHUB_STEP_SUMMARY",
    ):
        assert flag in run, flag
    assert "python -m triton_platform.preview.stacks matrix" in jobs["stacks"]["steps"][-1]["run"]
    assert "fromJSON(needs.stacks.outputs.matrix)" in str(preview["strategy"]["matrix"])
    built = "\n".join(str(s.get("run", "")) for s in comment["steps"])
    assert "python -m triton_platform.preview" in built
    sticky = next(s for s in comment["steps"] if "sticky-pull-request-comment" in str(s.get("uses")))
    assert sticky["with"]["header"]  # one comment per PR, found again by its header


def test_deploy_workflow() -> None:
    wf = _load(WORKFLOWS / "deploy.yml")
    assert wf["on"] == {"push": {"branches": ["main"]}}
    deploy = wf["jobs"]["deploy"]
    assert deploy["strategy"]["max-parallel"] == 1
    assert deploy["strategy"]["fail-fast"] is True
    assert deploy["environment"] == "${{ matrix.environment }}"
    run = "\n".join(str(s.get("run", "")) for s in deploy["steps"])
    assert "pulumi up" in run
    assert "--plan" in run
    assert "--policy-pack policy" in run
    assert wf["concurrency"]["cancel-in-progress"] is False


# --------------------------------------------------------------------------- runner contract (issue 15)
# What the stock ubuntu-24.04 image already has on PATH (actions/runner-images,
# images/ubuntu/Ubuntu2404-Readme.md: "AWS CLI"); everything else a kubeconfig runs must be
# installed by a step of the job before the Pulumi step.
RUNNER_IMAGE_COMMANDS = {"aws"}
# The step (action, and the input that must name the component) that puts each command on PATH.
INSTALLERS = {
    "gke-gcloud-auth-plugin": ("google-github-actions/setup-gcloud", "install_components"),
    "kubelogin": ("azure/use-kubelogin", None),
}
JOBS = {"preview.yml": ("preview", "pulumi preview"), "deploy.yml": ("deploy", "pulumi up")}
# What the providers and the publisher read for OIDC on Azure: azure-native (ARM_USE_OIDC with
# ARM_CLIENT_ID / ARM_TENANT_ID / ARM_SUBSCRIPTION_ID; it reads ACTIONS_ID_TOKEN_REQUEST_* itself),
# kubelogin (Azure/kubelogin pkg/internal/token/options.go: AAD_LOGIN_METHOD, AZURE_CLIENT_ID,
# AZURE_TENANT_ID; provider.go: ACTIONS_ID_TOKEN_REQUEST_* in workloadidentity mode) and the
# publisher (triton_platform.publisher.stores.credentials.azure_credential).
AZURE_OIDC_ENV = {
    "ARM_USE_OIDC": "true",
    "ARM_CLIENT_ID": None,
    "ARM_TENANT_ID": None,
    "ARM_SUBSCRIPTION_ID": None,
    "AAD_LOGIN_METHOD": "workloadidentity",
    "AZURE_CLIENT_ID": None,
    "AZURE_TENANT_ID": None,
}


def _kubeconfig_commands(cloud: str) -> set[str]:
    """users[].user.exec.command of the kubeconfig each cloud's component generates."""
    from components.aws.eks_cluster import kubeconfig as eks_kubeconfig
    from components.azure.aks_cluster import kubelogin_azurecli
    from components.gcp.gke_cluster import gke_kubeconfig
    from tests.support.pulumi_mocks import MOCK_AKS_AAD_KUBECONFIG

    text = {
        "aws": lambda: eks_kubeconfig("c", "https://x", "bW9jaw==", "us-east-1"),
        "gcp": lambda: gke_kubeconfig(cluster_name="c", endpoint="10.0.0.1", ca_certificate="bW9jaw=="),
        "azure": lambda: kubelogin_azurecli(MOCK_AKS_AAD_KUBECONFIG),
    }[cloud]()
    doc = yaml.safe_load(text)
    return {u["user"]["exec"]["command"] for u in doc["users"] if "exec" in u.get("user", {})}


def _job(file: str) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """The job that runs Pulumi, its steps, and the index of the Pulumi step."""
    job_name, command = JOBS[file]
    job = _load(WORKFLOWS / file)["jobs"][job_name]
    steps = job["steps"]
    (index,) = [i for i, s in enumerate(steps) if s.get("name") == command]
    return job, steps, index


def _runs_for(step: dict[str, Any], cloud: str) -> bool:
    condition = str(step.get("if", ""))
    return not condition or f"matrix.cloud == '{cloud}'" in condition


@pytest.mark.parametrize("file", sorted(JOBS))
@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_kubeconfig_commands_are_installed_before_pulumi(file: str, cloud: str) -> None:
    _, steps, pulumi_step = _job(file)
    commands = _kubeconfig_commands(cloud)
    assert commands, cloud
    for command in commands - RUNNER_IMAGE_COMMANDS:
        action, needs_input = INSTALLERS[command]
        installers = [
            s
            for s in steps[:pulumi_step]
            if str(s.get("uses", "")).split("@")[0] == action
            and _runs_for(s, cloud)
            and (needs_input is None or command in str(s.get("with", {}).get(needs_input, "")))
        ]
        assert installers, f"{file}: nothing installs {command!r} for {cloud} before the Pulumi step"


@pytest.mark.parametrize("file", sorted(JOBS))
def test_azure_oidc_variables_reach_the_pulumi_step(file: str) -> None:
    _, steps, pulumi_step = _job(file)
    env = steps[pulumi_step].get("env", {})
    for name, value in AZURE_OIDC_ENV.items():
        assert name in env, f"{file}: {name} unset"
        if value is not None:
            assert str(env[name]) == value, name
    assert "ARM_CLIENT_SECRET" not in env


@pytest.mark.parametrize("file", sorted(JOBS))
def test_aws_session_outlasts_the_job(file: str) -> None:
    # configure-aws-credentials defaults to 3600 s; a session must not end before the job may.
    job, steps, _ = _job(file)
    (login,) = [s for s in steps if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")]
    assert int(login["with"]["role-duration-seconds"]) >= int(job["timeout-minutes"]) * 60


def test_deploy_records_the_release_a_canary_promoted() -> None:
    """Issue 18: after the rollout is promoted (and only then) the bucket's history records the release."""
    steps = _load(WORKFLOWS / "deploy.yml")["jobs"]["deploy"]["steps"]
    names = [s.get("name") for s in steps]
    wait = steps[names.index("wait for the canary rollout")]
    assert names.index("pulumi up") < names.index("wait for the canary rollout")
    run = str(wait["run"])
    healthy, degraded = run.index("Healthy/*)"), run.index("Degraded/*)")
    served = run.index("python -m triton_platform.release served")
    assert healthy < served < degraded  # in the promoted branch only
    assert "triton-platform\\.io/release" in run  # the release the promoted pod template names
    assert "::error title=canary aborted::$message" in run  # an abort fails with the analysis' reason
    # The controller must have seen this deploy's Deployment before its phase counts.
    assert ".status.workloadObservedGeneration" in run


# The Rollout CRD's openAPIV3Schema of the pinned Argo Rollouts (v1.9.0, from its chart; see
# tests/components/serving/test_rollouts.py for where it comes from).
ROLLOUT_SCHEMA = Path("tests/triton_platform/values/data/argo-rollouts-v1.9.0-rollout.schema.json")


def test_every_rollout_status_field_the_deploy_job_reads_is_in_the_pinned_crd() -> None:
    """The wait step reads the Rollout with kubectl jsonpath: a field the controller never writes
    would read as "" forever (the job would wait out its timeout instead of failing)."""
    import json

    steps = _load(WORKFLOWS / "deploy.yml")["jobs"]["deploy"]["steps"]
    (wait,) = [s for s in steps if s.get("name") == "wait for the canary rollout"]
    fields = set(re.findall(r"\$\(field \.status\.(\w+)\)", str(wait["run"])))
    assert {"phase", "message", "observedGeneration", "workloadObservedGeneration"} <= fields
    status = json.loads(ROLLOUT_SCHEMA.read_text())["properties"]["status"]["properties"]
    assert sorted(fields - set(status)) == [], "not in Argo Rollouts v1.9.0's Rollout status"
