"""The canary analysis on a real Prometheus scraping real tritonservers: healthy passes, failing and slow fail.

Four real tritonservers (the pytriton wheel, CPU, with the chart's ``--metrics-config`` flags) on
127.0.0.1 stand for a Rollout's pods: the stable release and three canaries, each a Python model:
``healthy`` (2 ms a request), ``failing`` (raises on every fifth request: Triton counts it in
``nv_inference_request_failure{reason="BACKEND"}``; an error *response* instead would count as a
success there, seen on 2.51) and ``slow`` (250 ms a request, one at a time, so concurrent requests
queue). The real ``prometheus`` scrapes
each with the labels the ServiceMonitor gives in the cluster (``namespace``, ``pod`` named
``<rollout>-<pod-template-hash>-<suffix>`` as Argo Rollouts names its pods). Eight clients load
every server at once.

Each metric of the AnalysisTemplate that ``triton_platform.values.rollout`` builds (the default
thresholds, a 30 s interval) is measured as the controller measures it: its query, with the
Rollout's args put in (``{{args.NAME}}`` replaced, as argo-rollouts does), is an instant query on
Prometheus' HTTP API; the vector's values are ``result`` (a list of floats, argo-rollouts v1.9.0
metricproviders/prometheus/prometheus.go ``processResponse``); the phase comes from
``successCondition``/``failureCondition`` as utils/evaluate/evaluate.go ``EvaluateResult`` decides it.
The conditions are expr-lang expressions of the subset the template uses (``len(result)``,
``result[0]``, a comparison with a decimal literal, ``&&``); ``evaluate`` interprets exactly that
form: ``&&`` short-circuits, and both sides compare as float64 the IEEE way (NaN compares false). One
measurement is taken at the middle of the load and one at its end, one for each default step.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.prometheus import Prometheus, chart_metrics_args, run_prometheus, static_scrape
from tests.support.served import infer_status
from tests.support.triton import TritonServer, TritonUnavailable, run_triton
from triton_platform.config.schema import RolloutAnalysis
from triton_platform.values import rollout
from triton_platform.values.rollout import ARG_CANARY_HASH, ARG_NAMESPACE, ARG_ROLLOUT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

NS, ROLLOUT, MODEL = "triton", "triton", "m"
# pod-template-hash of each release: the stable one and one per canary.
HASHES = {"stable": "7d9f8c6b5", "healthy": "5f6d7c8b9", "failing": "6c4b8d9f7", "slow": "8b7c6d5f4"}
ANALYSIS = RolloutAnalysis(interval="30s")  # the shortest interval the rules allow (2 scrapes of 15 s)
CLIENTS, LOAD_S = 8, 14.0

_CONFIG = f"""
name: "{MODEL}"
backend: "python"
max_batch_size: 8
input [{{ name: "x" data_type: TYPE_FP32 dims: [1] }}]
output [{{ name: "y" data_type: TYPE_FP32 dims: [1] }}]
instance_group [{{ kind: KIND_CPU count: 1 }}]
"""
_MODEL_PY = """
import time

import triton_python_backend_utils as pb_utils

SLEEP_S, FAIL_EVERY = {sleep}, {fail_every}


class TritonPythonModel:
    def initialize(self, args):
        self.calls = 0

    def execute(self, requests):
        out = []
        for r in requests:
            time.sleep(SLEEP_S)
            self.calls += 1
            if FAIL_EVERY and self.calls % FAIL_EVERY == 0:
                raise RuntimeError("canary model failed")  # a broken model: the batch fails
            x = pb_utils.get_input_tensor_by_name(r, "x").as_numpy()
            out.append(pb_utils.InferenceResponse([pb_utils.Tensor("y", x * 2)]))
        return out
"""
MODELS = {
    "stable": {"sleep": 0.002, "fail_every": 0},
    "healthy": {"sleep": 0.002, "fail_every": 0},
    "failing": {"sleep": 0.002, "fail_every": 5},
    "slow": {"sleep": 0.25, "fail_every": 0},
}


def evaluate(condition: str, result: list[float]) -> bool:
    """An expr-lang condition of the template's one form, ``len(result) > 0 && result[0] OP LIMIT``."""
    match = re.fullmatch(r"len\(result\) > 0 && result\[0\] (<=|>) (\d+(?:\.\d+)?)", condition)
    assert match, condition
    if not len(result) > 0:
        return False  # && short-circuits: result[0] is not read
    value, limit = result[0], float(match[2])  # float64 on both sides: NaN compares false
    return value <= limit if match[1] == "<=" else value > limit


def phase(metric: dict[str, str], result: list[float]) -> str:
    """argo-rollouts' EvaluateResult when both conditions are set."""
    if evaluate(metric["failureCondition"], result):
        return "Failed"
    return "Successful" if evaluate(metric["successCondition"], result) else "Inconclusive"


@dataclass
class Fleet:
    prometheus: Prometheus
    servers: dict[str, TritonServer]
    mid: float
    end: float
    statuses: dict[str, dict[int, int]]


def _infer(server: TritonServer) -> int:
    return infer_status(server.http_url, MODEL)


def _load(servers: dict[str, TritonServer]) -> tuple[float, float, dict[str, dict[int, int]]]:
    """CLIENTS clients per server for LOAD_S seconds; (middle, end, status counts per server)."""
    statuses: dict[str, dict[int, int]] = {name: {} for name in servers}
    lock = threading.Lock()
    stop = time.monotonic() + LOAD_S

    def client(name: str) -> None:
        while time.monotonic() < stop:
            code = _infer(servers[name])
            with lock:
                statuses[name][code] = statuses[name].get(code, 0) + 1

    start = time.time()
    with ThreadPoolExecutor(CLIENTS * len(servers)) as pool:
        list(pool.map(client, [n for n in servers for _ in range(CLIENTS)]))
    return start + LOAD_S / 2 + 2, time.time(), statuses


def _repository(root: Path, name: str) -> Path:
    repo = root / f"models-{name}"
    (repo / MODEL / "1").mkdir(parents=True)
    (repo / MODEL / "config.pbtxt").write_text(_CONFIG)
    (repo / MODEL / "1" / "model.py").write_text(_MODEL_PY.format(**MODELS[name]))
    return repo


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    work = tmp_path_factory.mktemp("rollout")
    flags = chart_metrics_args(work)
    with contextlib.ExitStack() as stack:
        servers: dict[str, TritonServer] = {}
        for name in HASHES:
            try:
                servers[name] = stack.enter_context(
                    run_triton(str(_repository(work, name)), workdir=work / name, extra_args=flags)
                )
            except TritonUnavailable as err:
                pytest.fail(f"no runnable tritonserver here: {err}")  # the test command installs it
        for server in servers.values():
            server.wait_model(MODEL, 1)
        jobs = [
            static_scrape(
                f"triton-{name}",
                f"127.0.0.1:{server.metrics_port}",
                {"namespace": NS, "pod": f"{ROLLOUT}-{HASHES[name]}-x{i}k2p", "container": "triton"},
            )
            for i, (name, server) in enumerate(servers.items())
        ]
        prometheus = stack.enter_context(run_prometheus(jobs, work / "prometheus"))
        prometheus.wait_scraped()
        time.sleep(2)  # idle samples first: the rate windows start before the load
        mid, end, statuses = _load(servers)
        time.sleep(2.5)  # the last counters are scraped
        yield Fleet(prometheus, servers, mid, end + 2, statuses)


def _measure(fleet: Fleet, canary: str, at: float) -> dict[str, tuple[list[float], str]]:
    """Each metric's result and phase for ``canary``'s pods at ``at``."""
    args = {ARG_NAMESPACE: NS, ARG_ROLLOUT: ROLLOUT, ARG_CANARY_HASH: HASHES[canary]}
    out: dict[str, tuple[list[float], str]] = {}
    for metric in rollout.analysis_metrics(ANALYSIS, fleet.prometheus.url):
        query = metric["provider"]["prometheus"]["query"]
        for name, value in args.items():
            query = query.replace(f"{{{{args.{name}}}}}", value)
        result = [float(s["value"][1]) for s in fleet.prometheus.query(query, at=at)]
        out[metric["name"]] = (result, phase(metric, result))
    print(f"{canary} @{at - fleet.end:+.1f}s: " + ", ".join(f"{k}={v[0]} {v[1]}" for k, v in out.items()))
    return out


def _steps(fleet: Fleet, canary: str) -> list[dict[str, tuple[list[float], str]]]:
    return [_measure(fleet, canary, at) for at in (fleet.mid, fleet.end)]


def test_the_healthy_canary_passes_every_step(fleet: Fleet) -> None:
    assert set(fleet.statuses["healthy"]) == {200}, fleet.statuses
    for step in _steps(fleet, "healthy"):
        assert {name: p for name, (_r, p) in step.items()} == dict.fromkeys(step, "Successful"), step
        assert step["failure-ratio"][0] == [0.0]


def test_a_canary_that_fails_requests_fails_the_failure_ratio(fleet: Fleet) -> None:
    codes = fleet.statuses["failing"]
    assert codes.get(500, 0) > 0, codes
    assert codes.get(200, 0) > 0, codes
    for step in _steps(fleet, "failing"):
        ratio, verdict = step["failure-ratio"]
        assert verdict == "Failed", step
        assert math.isclose(ratio[0], 0.2, abs_tol=0.03), ratio  # every fifth request
        assert step["p99-latency-ms"][1] == "Successful", step
        assert step["queue-time-ms"][1] == "Successful", step


def test_a_slow_canary_fails_latency_and_queue_time(fleet: Fleet) -> None:
    assert set(fleet.statuses["slow"]) == {200}, fleet.statuses
    for step in _steps(fleet, "slow"):
        assert step["failure-ratio"][1] == "Successful", step
        assert step["p99-latency-ms"][1] == "Failed", step
        assert step["queue-time-ms"][1] == "Failed", step
        assert step["p99-latency-ms"][0][0] > ANALYSIS.max_p99_latency_ms
        assert step["queue-time-ms"][0][0] > ANALYSIS.max_queue_time_ms


def test_the_queries_see_only_the_canarys_pods(fleet: Fleet) -> None:
    # The stable pods' series exist but the canary's hash selects none of them.
    query = rollout.failure_ratio_query("30s", f'namespace="{NS}",pod=~"{ROLLOUT}-{HASHES["healthy"]}-.*"')
    assert len(fleet.prometheus.query(query, at=fleet.end)) == 1
    pods = fleet.prometheus.label_values("pod", 'nv_inference_request_success{namespace="triton"}')
    assert len(pods) == len(HASHES)


def test_no_traffic_is_inconclusive_not_a_pass() -> None:
    metric = rollout.conditions(0.01)
    assert phase(metric, []) == "Inconclusive"
    assert phase(metric, [math.nan]) == "Inconclusive"
    assert phase(metric, [0.0]) == "Successful"
    assert phase(metric, [0.5]) == "Failed"
