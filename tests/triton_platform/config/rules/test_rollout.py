"""Validation of ``triton.rollout`` (issue 18, item 3): each bad value is rejected naming its key.

The schema checks each value alone (strategy enum, weights 1-100, durations such as ``5m``,
positive thresholds); ``triton_platform/config/rules/rollout.py`` checks them together (weights
rising, 100 only last, a pause below 100 at least one analysis interval, an interval of at least
two scrapes).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stacks import BEHIND_GATEWAY, config_error, parse_stack, set_key

STACK = "prod"
ROLLOUT = "triton-platform:triton.rollout"


GATEWAY = BEHIND_GATEWAY  # a canary moves weights on the Gateway's routes


def _canary(**canary: Any) -> Any:
    return set_key("triton.rollout", {"strategy": "canary", "canary": canary})


def _keys(*edits: Any) -> dict[str, str]:
    return {i.key: i.reason for i in config_error(STACK, *GATEWAY, *edits).issues}


def test_instant_by_default_and_canary_defaults_are_valid() -> None:
    assert parse_stack(STACK).triton.rollout.strategy == "instant"
    canary = parse_stack(STACK, *GATEWAY, _canary()).triton.rollout.canary
    assert [(s.weight, s.pause) for s in canary.steps] == [(10, "5m"), (50, "10m")]
    a = canary.analysis
    assert (a.interval, a.failure_limit, a.max_failure_ratio, a.max_p99_latency_ms, a.max_queue_time_ms) == (
        "1m",
        1,
        0.01,
        1000,
        100,
    )


def test_explicit_last_step_of_100_is_valid() -> None:
    steps = [{"weight": 20, "pause": "2m"}, {"weight": 100}]
    assert [s.weight for s in parse_stack(STACK, *GATEWAY, _canary(steps=steps)).triton.rollout.canary.steps] == [
        20,
        100,
    ]


def test_strategy_enum() -> None:
    assert f"{ROLLOUT}.strategy" in _keys(set_key("triton.rollout.strategy", "bluegreen"))


@pytest.mark.parametrize("weight", [0, 101, -5])
def test_weight_range(weight: int) -> None:
    assert f"{ROLLOUT}.canary.steps[0].weight" in _keys(_canary(steps=[{"weight": weight, "pause": "5m"}]))


def test_weights_must_rise() -> None:
    steps = [{"weight": 50, "pause": "5m"}, {"weight": 20, "pause": "5m"}]
    reasons = _keys(_canary(steps=steps))
    assert "above the step before (50)" in reasons[f"{ROLLOUT}.canary.steps[1].weight"]


def test_100_only_last() -> None:
    steps = [{"weight": 100}, {"weight": 100}]
    reasons = _keys(_canary(steps=steps))
    assert "100 only on the last step" in reasons[f"{ROLLOUT}.canary.steps[0].weight"]


@pytest.mark.parametrize("pause", ["5 minutes", "5", "0m", "1.5m", "5d"])
def test_pause_is_a_duration(pause: str) -> None:
    assert f"{ROLLOUT}.canary.steps[0].pause" in _keys(_canary(steps=[{"weight": 10, "pause": pause}]))


def test_pause_needed_below_100() -> None:
    reasons = _keys(_canary(steps=[{"weight": 10}]))
    assert "needed below 100" in reasons[f"{ROLLOUT}.canary.steps[0].pause"]


def test_pause_at_least_one_interval() -> None:
    reasons = _keys(_canary(steps=[{"weight": 10, "pause": "30s"}], analysis={"interval": "2m"}))
    assert "shorter than analysis.interval" in reasons[f"{ROLLOUT}.canary.steps[0].pause"]


@pytest.mark.parametrize("interval", ["10s", "15s", "29s"])
def test_interval_spans_two_scrapes(interval: str) -> None:
    reasons = _keys(_canary(analysis={"interval": interval}))
    assert "two scrapes" in reasons[f"{ROLLOUT}.canary.analysis.interval"]


def test_interval_is_a_duration() -> None:
    assert f"{ROLLOUT}.canary.analysis.interval" in _keys(_canary(analysis={"interval": "one minute"}))


@pytest.mark.parametrize(
    ("threshold", "value"),
    [
        ("maxFailureRatio", 0),
        ("maxFailureRatio", 1.5),
        ("maxGatewayErrorRatio", -0.1),
        ("maxP99LatencyMs", 0),
        ("maxQueueTimeMs", -1),
        ("failureLimit", -1),
    ],
)
def test_thresholds_positive(threshold: str, value: float) -> None:
    assert f"{ROLLOUT}.canary.analysis.{threshold}" in _keys(_canary(analysis={threshold: value}))


def test_empty_steps_rejected() -> None:
    assert f"{ROLLOUT}.canary.steps" in _keys(_canary(steps=[]))


def test_unknown_key_rejected() -> None:
    assert any(k.startswith(f"{ROLLOUT}.canary") for k in _keys(_canary(stepz=[])))


def test_canary_needs_monitoring_and_the_gateway() -> None:
    without_gateway = {i.key: i.reason for i in config_error(STACK, _canary()).issues}
    assert "triton.gateway.enabled" in without_gateway[f"{ROLLOUT}.strategy"]
    without_monitoring = _keys(_canary(), set_key("monitoring.enabled", False))
    assert "monitoring.enabled" in without_monitoring[f"{ROLLOUT}.strategy"]


def test_explicit_model_control_is_refused_under_canary_and_poll_runs_as_none() -> None:
    # Each canary pod loads its release's immutable location once: explicit would serve no model.
    reasons = _keys(_canary(), set_key("triton.modelControlMode", "explicit"))
    assert "explicit cannot serve a canary release" in reasons["triton-platform:triton.modelControlMode"]
    # prod's own `poll` is accepted (the values run it as none, tests/triton_platform/values/test_triton.py).
    assert parse_stack(STACK, *GATEWAY, _canary()).triton.model_control_mode == "poll"
    # Instant stacks keep every mode.
    assert parse_stack(STACK, set_key("triton.modelControlMode", "explicit")).triton.model_control_mode == "explicit"
