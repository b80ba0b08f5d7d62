"""The sample model published into moto by the real publisher and served by the real tritonserver.

Shared by the autoscaling-metrics and perf_analyzer tests: ``samples/python-onnx`` (Python
backend running its ONNX graph with onnxruntime; pytriton's tritonserver has no ONNX backend)
goes through ``ModelVersionProvider.create`` into a fresh moto bucket, and tritonserver loads it
from ``s3://``, as the cluster's Triton reads its bucket. Also: the chart's load-test Job files as
``helm template`` renders them from the Pulumi program's values.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.providers.model_version import ModelVersionProvider
from samples import make_samples
from tests.support import servers
from tests.support.configs import raw_config
from tests.support.helm import render_triton
from tests.support.served import cpu_props, python_onnx_source, python_spec
from tests.support.triton import TritonServer, TritonUnavailable, run_triton
from triton_platform.config import PlatformConfig, parse_config
from triton_platform.publisher.stores.ref import StoreRef
from triton_platform.values.triton import triton_values

MODEL = "sample"
# The command the chart's Job container runs (templates/tests/loadtest-job.yaml).
JOB_COMMAND = ["python3", "/etc/loadtest/loadtest.py", "--plan", "/etc/loadtest/plan.json", "--workdir", "/tmp"]


@dataclass
class Published:
    server: TritonServer
    base_dir: Path


def stack_config(base_dir: Path, load_test: Mapping[str, Any] | None = None) -> PlatformConfig:
    """A local stack serving the sample (as config.py validates it), with ``triton.loadTest``."""
    model = {"name": MODEL, "source": MODEL, "format": "python", "maxBatchSize": 8, "instanceKind": "cpu"}
    triton = {"loadTest": dict(load_test or {}), "autoscaling": {"enabled": True, "metric": "queueTime"}}
    return parse_config(raw_config("local", models=[model], triton=triton), base_dir=base_dir, stack="test")


@contextlib.contextmanager
def published_sample(moto: servers.S3Endpoint, workdir: Path) -> Iterator[Published]:
    base = workdir / "src"
    python_onnx_source(base, MODEL, make_samples.PYTHON_ONNX_SEED)
    bucket = f"as-{uuid.uuid4().hex[:12]}"
    servers.create_bucket(moto, bucket)
    store = {"kind": "s3", "bucket": bucket, "prefix": "models", "endpoint_url": moto.url, "region": moto.region}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in moto.env().items():
            mp.setenv(key, value)
        outs = ModelVersionProvider().create(cpu_props(python_spec(MODEL), store, base)).outs
    assert outs is not None
    assert outs["version"] == 1
    uri = StoreRef.model_validate(store).repository_uri()
    try:
        with run_triton(uri, workdir=workdir, env=moto.env()) as server:
            server.wait_model(MODEL, 1)
            yield Published(server, base)
    except TritonUnavailable as exc:
        pytest.fail(f"tritonserver unavailable: {exc}")  # the test command installs it: never a silent skip


@dataclass
class LoadTestJob:
    """The rendered Job and the two files its ConfigMap mounts, written to disk."""

    job: dict[str, Any]
    runner: Path
    plan_file: Path

    @property
    def plan(self) -> dict[str, Any]:
        plan: dict[str, Any] = json.loads(self.plan_file.read_text())
        return plan


def render_load_test(cfg: PlatformConfig, base_dir: Path, workdir: Path) -> LoadTestJob:
    """``helm template`` of the chart with the Pulumi program's values; the Job's files on disk."""
    values = triton_values(cfg, repository_uri="s3://bucket/models", base_dir=base_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    docs = render_triton(values, workdir)
    (job,) = [d for d in docs if d["kind"] == "Job"]
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-loadtest")]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == JOB_COMMAND, yaml.safe_dump(container)
    runner, plan = workdir / "loadtest.py", workdir / "plan.json"
    runner.write_text(cm["data"]["loadtest.py"])
    plan.write_text(cm["data"]["plan.json"])
    return LoadTestJob(job, runner, plan)
