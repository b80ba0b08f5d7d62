"""The scaling metrics' queries against what a real Triton exposes, scraped under load.

The real tritonserver (pytriton wheel) serves the published sample; after a burst of inference
requests its /metrics endpoint is scraped. Each prometheus-adapter rule and each per-pod
scaling expression must parse as PromQL, and every metric name and label its selectors and
groupings use must be on the scraped Triton series, or be one of the target labels the
Prometheus operator adds to every series scraped through a ServiceMonitor (``namespace``,
``pod``; prometheus-operator Documentation/api-reference: ServiceMonitor relabelling adds
namespace, service, pod, container, endpoint). The queue-time rule's two counters must move
under load, so the metric the HPA reads is not a constant zero.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from samples import make_samples
from tests.support import servers
from tests.support.promql import grouping_labels, parse, selectors
from tests.support.published import MODEL, Published, published_sample
from triton_platform.values import autoscaling

pytestmark = pytest.mark.integration

NAMESPACE = "triton"
# Labels Prometheus adds to every series of a ServiceMonitor target (prometheus-operator).
TARGET_LABELS = {"namespace", "pod", "service", "container", "endpoint", "job", "instance"}
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>.*)\})? (?P<value>\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Series:
    name: str
    labels: dict[str, str]
    value: float


def scrape(port: int) -> list[Series]:
    """Triton's /metrics in the Prometheus text format, one Series per sample line."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = dict(_LABEL.findall(m.group("labels") or ""))
        out.append(Series(m.group("name"), labels, float(m.group("value"))))
    return out


def _load(published: Published, requests: int = 40) -> None:
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(published.server.http_url, network_timeout=30.0)
    try:
        x = np.random.default_rng(3).standard_normal((4, make_samples.FEATURES)).astype(np.float32)
        for _ in range(requests):
            inp = httpclient.InferInput(make_samples.INPUT_NAME, list(x.shape), "FP32")
            inp.set_data_from_numpy(x)
            client.infer(MODEL, [inp])
    finally:
        client.close()


@pytest.fixture(scope="module")
def under_load(
    moto_endpoint: servers.S3Endpoint, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[Series], list[Series]]]:
    """Triton's series before and after a burst of requests to the published sample."""
    with published_sample(moto_endpoint, tmp_path_factory.mktemp("metrics")) as published:
        before = scrape(published.server.metrics_port)
        _load(published)
        yield before, scrape(published.server.metrics_port)


def _triton_rules() -> list[dict[str, object]]:
    # Triton's request series; the GPU gauge needs a GPU this tritonserver does not have
    # (tests/triton_platform/values/test_autoscaling_adapter.py evaluates that rule).
    rules = autoscaling.adapter_rules(NAMESPACE)
    return [r for r in rules if str(r["seriesQuery"]).startswith("nv_inference_")]


def _check_against_scrape(expr: str, series: list[Series]) -> None:
    names = {s.name for s in series}
    labels_by_name: dict[str, set[str]] = {}
    for s in series:
        labels_by_name.setdefault(s.name, set()).update(s.labels)
    used = selectors(expr)
    assert used, expr
    for name, matchers in used:
        assert name in names, f"{name} is not exposed by Triton (scraped: {sorted(names)})"
        unknown = set(matchers) - labels_by_name[name] - TARGET_LABELS
        assert not unknown, f"{expr}: labels {unknown} are not on Triton's {name}"
    all_labels = set().union(*labels_by_name.values()) | TARGET_LABELS
    assert grouping_labels(expr) <= all_labels, expr


@pytest.mark.timeout(240)
def test_adapter_rules_parse_and_match_real_triton_series(under_load: tuple[list[Series], list[Series]]) -> None:
    _before, after = under_load
    rules = _triton_rules()
    assert {r["name"]["as"] for r in rules} == {"triton_queue_time_ms", "triton_inference_rate"}  # type: ignore[index]
    for rule in rules:
        parse(str(rule["seriesQuery"]))
        _check_against_scrape(str(rule["seriesQuery"]), after)
        # The query the adapter runs for the HPA: matchers and grouping filled in as it does.
        query = autoscaling.expand_rule(rule, NAMESPACE, pods=["triton-abc-1", "triton-abc-2"])
        parse(query)
        _check_against_scrape(query, after)


@pytest.mark.timeout(240)
def test_every_rule_parses_including_the_dcgm_one() -> None:
    rules = autoscaling.adapter_rules(NAMESPACE)
    assert rules, "no adapter rule to check"
    for rule in rules:
        parse(str(rule["seriesQuery"]))
        parse(autoscaling.expand_rule(rule, NAMESPACE))
        # The resource overrides name labels the query selects on (what the adapter matches).
        overrides = set(rule["resources"]["overrides"])
        (name, matchers), *_ = selectors(str(rule["seriesQuery"]))
        assert overrides <= set(matchers), (name, matchers)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("metric", ["queueTime", "inferenceRate"])
def test_scaling_expressions_match_real_triton_series(
    under_load: tuple[list[Series], list[Series]], metric: autoscaling.Metric
) -> None:
    _before, after = under_load
    expr = autoscaling.scaling_expr(metric, NAMESPACE)
    parse(expr)
    _check_against_scrape(expr, after)


@pytest.mark.timeout(240)
def test_queue_time_counters_move_under_load(under_load: tuple[list[Series], list[Series]]) -> None:
    before, after = under_load

    def total(series: list[Series], name: str) -> float:
        values = [s.value for s in series if s.name == name and s.labels.get("model") == MODEL]
        assert values, f"no {name} series for model {MODEL!r}"
        return sum(values)

    requests = total(after, autoscaling.REQUEST_SUCCESS) - total(before, autoscaling.REQUEST_SUCCESS)
    queue_us = total(after, autoscaling.QUEUE_DURATION) - total(before, autoscaling.QUEUE_DURATION)
    assert requests == 40
    assert queue_us > 0
    # What the queueTime rule computes from these two counters: average ms per request.
    assert 0 < queue_us / requests / 1000 < 10_000
    # The labels the Triton series carry (metrics.md): model and version.
    (series,) = [s for s in after if s.name == autoscaling.QUEUE_DURATION and s.labels.get("model") == MODEL]
    assert set(series.labels) == {"model", "version"}
