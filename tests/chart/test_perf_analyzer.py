"""The load test's exact command lines, run here against the real tritonserver serving the published sample.

The plan comes from the Pulumi program's values rendered by the real helm (the ConfigMap the
``helm test`` Job mounts); its runner (the chart's files/loadtest.py, as rendered) runs each
perf_analyzer command of the plan with the real perf_analyzer (tritonclient 2.41.1 wheel). Only
the server address (``--url``, the in-cluster Service here being 127.0.0.1) and the program path
(``--perf-analyzer``) differ from the Job.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import servers
from tests.support.published import (
    MODEL,
    LoadTestJob,
    Published,
    published_sample,
    render_load_test,
    stack_config,
)
from tests.support.tools import perf_analyzer_env, perf_analyzer_path

# A real tritonserver serves the sample; the plan is rendered with the real helm.
pytestmark = [pytest.mark.integration, pytest.mark.chart]

# Short windows keep the suite fast; the shape of the run is what the Job does.
# A shared 2-core CI machine is noisy: windows agreeing within 100% count as stable.
FAST = {
    "concurrency": {"start": 1, "end": 2, "step": 1},
    "measurementIntervalMs": 1000,
    "batchSize": 4,
    "stabilityPercentage": 100,
}


@pytest.fixture(scope="module")
def sample(moto_endpoint: servers.S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    with published_sample(moto_endpoint, tmp_path_factory.mktemp("perf")) as published:
        yield published


def _runner(job: LoadTestJob, sample: Published, workdir: Path) -> subprocess.CompletedProcess[str]:
    """The Job's runner on its plan; only the server address and the program path differ."""
    return subprocess.run(
        [
            sys.executable,
            str(job.runner),
            "--plan",
            str(job.plan_file),
            "--workdir",
            str(workdir),
            "--url",
            f"127.0.0.1:{sample.server.grpc_port}",
            "--perf-analyzer",
            str(perf_analyzer_path()),
        ],
        env=perf_analyzer_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _run_job(sample: Published, load_test: dict[str, Any], workdir: Path) -> subprocess.CompletedProcess[str]:
    job = render_load_test(stack_config(sample.base_dir, load_test), sample.base_dir, workdir)
    (run,) = job.plan["runs"]
    assert run["model"] == MODEL
    # The Job talks gRPC to the Service; here the same command talks to the local server.
    assert run["command"][run["command"].index("-u") + 1] == "triton.triton.svc.cluster.local:8001"
    return _runner(job, sample, workdir)


@pytest.mark.timeout(300)
def test_plan_shapes_come_from_the_onnx_graph(sample: Published, tmp_path: Path) -> None:
    job = render_load_test(stack_config(sample.base_dir, FAST), sample.base_dir, tmp_path)
    command = job.plan["runs"][0]["command"]
    # samples/python-onnx: INPUT0 is [batch, 16] in the graph; Triton's dims drop the batch.
    assert command[command.index("--shape") + 1] == "INPUT0:16"
    assert command[command.index("-b") + 1] == "4"
    assert "--concurrency-range" in command
    assert command[command.index("--concurrency-range") + 1] == "1:2:1"


@pytest.mark.timeout(300)
def test_loose_thresholds_pass(sample: Published, tmp_path: Path) -> None:
    proc = _run_job(sample, {**FAST, "maxP99LatencyMs": 60_000, "minThroughput": 0.1}, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    # perf_analyzer's own report is in the log: its summary and the CSV with p99 per concurrency.
    assert "Concurrency: 1," in out, out
    assert "Concurrency: 2," in out, out
    assert "p99 latency" in out, out
    assert f"--- {MODEL}: PASS" in out, out
    assert "=== load test: passed" in out, out


@pytest.mark.timeout(300)
def test_impossible_latency_threshold_fails(sample: Published, tmp_path: Path) -> None:
    proc = _run_job(sample, {**FAST, "maxP99LatencyMs": 0.001}, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert f"--- {MODEL}: FAIL" in out, out
    assert "maxP99LatencyMs 0.001" in out, out


@pytest.mark.timeout(300)
def test_impossible_throughput_fails(sample: Published, tmp_path: Path) -> None:
    proc = _run_job(sample, {**FAST, "minThroughput": 10_000_000}, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "minThroughput 10000000" in out, out


@pytest.mark.timeout(300)
def test_a_failing_perf_analyzer_fails_the_test(sample: Published, tmp_path: Path) -> None:
    # perf_analyzer exits non-zero when it cannot run the model (here: a name the server does not serve).
    job = render_load_test(stack_config(sample.base_dir, FAST), sample.base_dir, tmp_path)
    plan = job.plan
    command = plan["runs"][0]["command"]
    command[command.index("-m") + 1] = "no-such-model"
    job.plan_file.write_text(json.dumps(plan))
    proc = _runner(job, sample, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "perf_analyzer exited with" in out, out
    assert f"FAILED: {MODEL}" in out, out
