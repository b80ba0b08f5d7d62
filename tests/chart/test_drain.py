"""Drain before stop: the pod's shutdown, played against the real tritonserver the way kubelet runs it.

What Triton does on SIGTERM (triton-inference-server/server ``src/main.cc``, ``src/http_server.cc``
and core ``src/server.cc`` ``InferenceServer::Stop``, r24.10 = the pytriton wheel's 2.51 and r25.01
= the pinned 2.54 alike): it stops taking new HTTP connections at once, waits up to
``--exit-timeout-secs`` for the open ones, then stops every model (gRPC requests now fail with
"unknown model"/unavailable: server#6230) and waits for in-flight requests within what is left of
the same timeout. Meanwhile the pod's endpoint may still be in the Service for a few seconds, so
without a preStop every rollout and scale-down drops requests.

Kubelet's order on deletion (Kubernetes "Pod Lifecycle", termination of Pods): the pod is
marked terminating (the endpoints controller removes its address), the preStop hook runs, then
the container gets SIGTERM, and SIGKILL when ``terminationGracePeriodSeconds`` (counted from the
deletion, preStop included) have passed. The test plays kubelet with the chart's rendered pod
spec: it runs the preStop command itself while clients keep calling, sends SIGTERM when the
hook returns with requests in flight, and checks every request succeeded, the server exited on
its own, and all of it inside the grace period.
"""

from __future__ import annotations

import http.client
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from tests.support.configs import SAMPLE_MLP, raw_config
from tests.support.helm import pod_spec, render_triton, triton_container
from tests.support.stacks import REPO
from tests.support.triton import TritonServer, TritonUnavailable, run_triton
from triton_platform.config import parse_config
from triton_platform.values.triton import triton_values

pytestmark = [pytest.mark.integration, pytest.mark.chart]

MODEL = "slow"
# A Python-backend model that answers after the milliseconds it is sent: requests stay in flight
# as long as the test wants.
MODEL_PY = """
import time

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            delay = pb_utils.get_input_tensor_by_name(request, "DELAY_MS").as_numpy()
            time.sleep(float(delay[0]) / 1000.0)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("ECHO", delay)]))
        return responses
"""
CONFIG = f"""name: "{MODEL}"
backend: "python"
max_batch_size: 0
input [{{ name: "DELAY_MS" data_type: TYPE_FP32 dims: [ 1 ] }}]
output [{{ name: "ECHO" data_type: TYPE_FP32 dims: [ 1 ] }}]
instance_group [{{ kind: KIND_CPU count: 6 }}]
"""
SHORT_MS = 100.0  # the steady traffic while the endpoint leaves the Service
LONG_MS = 4000.0  # the requests in flight when SIGTERM comes
IN_FLIGHT = 5
# How tritonclient (geventhttpclient) reports a connection Triton resets (EVHTP_RES_SERVUNAVAIL in
# NewConnection): a reset while sending, or the connection closed before the response.
REFUSED = (InferenceServerException, OSError, http.client.HTTPException)


@dataclass(frozen=True)
class Shutdown:
    """What the chart tells kubelet and Triton about shutting down."""

    pre_stop: list[str]
    grace_seconds: int
    exit_timeout_seconds: int
    exit_timeout_arg: str


def rendered_shutdown(tmp_path: Path) -> Shutdown:
    cfg = parse_config(raw_config("local", models=[SAMPLE_MLP]), base_dir=REPO, stack="test")
    spec = pod_spec(render_triton(triton_values(cfg, repository_uri="s3://bucket/models", base_dir=REPO), tmp_path))
    container = triton_container(spec)
    (arg,) = [a for a in container["args"] if a.startswith("--exit-timeout-secs=")]
    return Shutdown(
        pre_stop=container["lifecycle"]["preStop"]["exec"]["command"],
        grace_seconds=int(spec["terminationGracePeriodSeconds"]),
        exit_timeout_seconds=int(arg.split("=", 1)[1]),
        exit_timeout_arg=arg,
    )


def infer(server: TritonServer, delay_ms: float) -> float:
    """One request on a connection of its own (as a client behind the Service opens), its answer."""
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(server.http_url, network_timeout=30.0, connection_timeout=5.0)
    try:
        inp = httpclient.InferInput("DELAY_MS", [1], "FP32")
        inp.set_data_from_numpy(np.array([delay_ms], dtype=np.float32))
        out = client.infer(MODEL, [inp]).as_numpy("ECHO")
        assert out is not None
        return float(out[0])
    finally:
        client.close()


@pytest.fixture
def server(tmp_path: Path, shutdown: Shutdown) -> Iterator[TritonServer]:
    repo = tmp_path / "repository"
    (repo / MODEL / "1").mkdir(parents=True)
    (repo / MODEL / "1" / "model.py").write_text(MODEL_PY)
    (repo / MODEL / "config.pbtxt").write_text(CONFIG)
    try:
        # The chart's own --exit-timeout-secs; the rest of the command line is the harness's.
        # No repository polling: the Python stub writes __pycache__ next to model.py, which a poll
        # would take for a new model version and reload (noise the shutdown does not need).
        args = [shutdown.exit_timeout_arg]
        with run_triton(str(repo), workdir=tmp_path, poll_seconds=0, extra_args=args) as started:
            started.wait_model(MODEL, 1)
            yield started
    except TritonUnavailable as exc:
        pytest.fail(f"tritonserver unavailable: {exc}")


@pytest.fixture
def shutdown(tmp_path: Path, samples_built: Path) -> Shutdown:
    render_dir = tmp_path / "render"
    render_dir.mkdir()
    return rendered_shutdown(render_dir)


def test_grace_period_covers_the_pre_stop_and_the_exit_timeout(shutdown: Shutdown) -> None:
    # The hook is an exec of the image's /bin/sh (the lifecycle "sleep" action is beta from
    # Kubernetes 1.30 only; stacks accept 1.28). It sleeps; SIGTERM comes when it returns.
    assert shutdown.pre_stop[:2] == ["/bin/sh", "-c"]
    (sleep_word, seconds) = shutdown.pre_stop[2].split()
    assert sleep_word == "sleep"
    assert int(seconds) > 0
    # Kubelet counts the grace period from the deletion: the hook and Triton's whole exit timeout
    # (HTTP connections, then in-flight requests, from one budget) must fit before SIGKILL.
    assert shutdown.grace_seconds >= int(seconds) + shutdown.exit_timeout_seconds


def _steady_traffic(server: TritonServer, stop: threading.Event, results: list[Any]) -> None:
    while not stop.is_set():
        try:
            results.append(infer(server, SHORT_MS))
        except Exception as exc:  # every failure is the finding
            results.append(exc)


@pytest.mark.timeout(240)
def test_requests_survive_the_pods_shutdown(shutdown: Shutdown, server: TritonServer) -> None:
    pre_stop_seconds = int(shutdown.pre_stop[2].split()[1])
    deleted = time.monotonic()
    # Kubelet: the endpoint is leaving the Service; the preStop hook runs (the rendered command).
    hook = subprocess.Popen(shutdown.pre_stop)
    stop_traffic = threading.Event()
    steady: list[Any] = []
    with ThreadPoolExecutor(max_workers=4 + IN_FLIGHT) as pool:
        for _ in range(4):
            pool.submit(_steady_traffic, server, stop_traffic, steady)
        # The last requests reach the pod just before the hook returns: in flight at SIGTERM.
        time.sleep(max(pre_stop_seconds - 1.5, 0.0))
        late: list[Future[float]] = [pool.submit(infer, server, LONG_MS) for _ in range(IN_FLIGHT)]
        assert hook.wait(timeout=pre_stop_seconds + 10) == 0
        stop_traffic.set()
        # Kubelet: the hook returned, SIGTERM to the container.
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        # Why the hook: a request that still reached the pod now would be refused.
        time.sleep(0.5)
        with pytest.raises(REFUSED):
            infer(server, SHORT_MS)
        answers = [f.result(timeout=LONG_MS / 1000 + shutdown.exit_timeout_seconds) for f in late]
    failures = [r for r in steady if isinstance(r, Exception)]
    assert steady
    assert failures == [], failures[:3]
    assert steady == [SHORT_MS] * len(steady)
    assert answers == [LONG_MS] * IN_FLIGHT
    # Triton exits by itself, cleanly, within its exit timeout and the pod's grace period.
    code = server.process.wait(timeout=shutdown.exit_timeout_seconds + 10)
    exited = time.monotonic()
    assert code == 0, server.logs()
    assert exited - signalled <= shutdown.exit_timeout_seconds, server.logs()
    assert exited - deleted <= shutdown.grace_seconds, server.logs()
