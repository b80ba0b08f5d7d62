"""SeaweedFs under Pulumi's mock runtime: the given provider, keys only through a Secret, the real chart's values."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.local.seaweedfs import (
    CONFIG_FIELD,
    CREDENTIALS_SECRET,
    SeaweedFs,
    SeaweedFsArgs,
    chart_values,
    s3_identities,
)
from tests.support.kind import dev_kind_cluster
from tests.support.pulumi_mocks import RecordingMocks, run_program
from triton_platform.catalog.versions import SEAWEEDFS, SEAWEEDFS_IMAGE_TAG


def test_seaweedfs_uses_the_given_provider_and_keeps_keys_secret(mocks: RecordingMocks, tmp_path: Path) -> None:
    def program() -> dict[str, Any]:
        s3 = SeaweedFs("dev-s3", SeaweedFsArgs(k8s_provider=dev_kind_cluster(tmp_path).provider, bucket="models"))
        return {"access": s3.access_key, "secret": s3.secret_key, "endpoint": s3.host_endpoint}

    result = run_program(program)
    assert result.secret == {"access", "secret"}
    assert result.values["endpoint"] == "http://127.0.0.1:9000"
    (release,) = mocks.of_type("kubernetes:helm.sh/v3:Release")
    assert (release.inputs["chart"], release.inputs["version"]) == (SEAWEEDFS.chart, SEAWEEDFS.version)
    values = release.inputs["values"]
    assert values["image"] == {"tag": SEAWEEDFS_IMAGE_TAG}
    s3 = values["allInOne"]["s3"]
    assert s3["existingConfigSecret"] == CREDENTIALS_SECRET
    assert s3["createBuckets"] == [{"name": "models", "anonymousRead": False}]
    assert "credentials" not in values.get("s3", {})  # keys only through the Secret
    assert "mock-password" not in repr(values)
    (secret,) = mocks.of_type("kubernetes:core/v1:Secret")
    assert secret.inputs["metadata"]["name"] == CREDENTIALS_SECRET
    string_data = secret.inputs["stringData"]
    string_data = string_data.get("value", string_data)  # the whole map travels as a secret
    assert set(string_data) == {"accessKey", "secretKey", CONFIG_FIELD}
    identity = json.loads(string_data[CONFIG_FIELD])["identities"][0]
    assert identity["credentials"] == [{"accessKey": string_data["accessKey"], "secretKey": string_data["secretKey"]}]
    for r in mocks.resources:
        if r.type.startswith("kubernetes:"):
            assert "dev-k8s" in (r.provider or ""), r


def test_identity_file_names_the_generated_keys() -> None:
    doc = json.loads(s3_identities("AK", "SK"))
    (identity,) = doc["identities"]
    assert identity["credentials"] == [{"accessKey": "AK", "secretKey": "SK"}]
    assert {"Read", "Write", "List"} <= set(identity["actions"])


def _real_chart() -> Path:
    """A checkout of the pinned chart (SEAWEEDFS_CHART=<seaweedfs>/k8s/charts/seaweedfs), else skip."""
    chart = os.environ.get("SEAWEEDFS_CHART")
    if not chart or not (Path(chart) / "Chart.yaml").is_file():
        pytest.skip("set SEAWEEDFS_CHART to seaweedfs/seaweedfs's k8s/charts/seaweedfs at tag 4.44 to render it")
    meta = yaml.safe_load((Path(chart) / "Chart.yaml").read_text())
    assert meta["version"] == SEAWEEDFS.version, "SEAWEEDFS_CHART is not the pinned chart version"
    return Path(chart)


@pytest.mark.chart
def test_values_render_with_the_real_chart(tmp_path: Path) -> None:
    """The real chart, with our values: one all-in-one pod serving S3 from our Secret, on the NodePort."""
    from tests.support.tools import helm_path

    chart = _real_chart()
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(chart_values(SeaweedFsArgs.model_construct(**_defaults(bucket="models")))))
    out = subprocess.run(
        [str(helm_path()), "template", "seaweedfs", str(chart), "-n", "seaweedfs", "-f", str(values)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("Deployment", "seaweedfs-all-in-one") in kinds
    assert not {k for k in kinds if k[0] == "StatefulSet"}  # no separate master/volume/filer
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    pod = deploy["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"chrislusf/seaweedfs:{SEAWEEDFS_IMAGE_TAG}"
    script = container["command"][-1]
    assert "-s3.config=/etc/sw/s3/seaweedfs_s3_config" in script
    assert "-s3.port=8333" in script
    assert '"-s3.port.iceberg=0"' in script
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    assert secrets["config-s3-users"] == CREDENTIALS_SECRET
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    (svc,) = [d for d in docs if d["kind"] == "Service"]
    s3_port = next(p for p in svc["spec"]["ports"] if p["name"] == "swfs-s3")
    assert (svc["spec"]["type"], s3_port["port"], s3_port["nodePort"]) == ("NodePort", 8333, 30900)
    (hook,) = [d for d in docs if d["kind"] == "Job"]
    assert "s3.bucket.create --name models" in hook["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    # The chart renders no S3 keys of its own: the gateway reads only ours.
    assert ("Secret", "seaweedfs-s3-secret") not in kinds


def _defaults(**given: Any) -> dict[str, Any]:
    return {name: field.default for name, field in SeaweedFsArgs.model_fields.items() if name != "k8s_provider"} | given
