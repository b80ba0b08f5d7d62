"""The pull-request comment's canary plan (issue 18, item 4): an update of the Triton release whose
values say ``rollout.strategy: canary`` shows the steps and the analysis' bounds, taken from the
values the stack computes (triton_platform.values.triton.rollout_values); an instant release, none."""

from __future__ import annotations

from typing import Any

from pulumi.automation import OpType

from tests.support.stacks import BEHIND_GATEWAY, parse_stack, set_key
from tests.triton_platform.preview.fixtures import RELEASE, Log, triton_values
from triton_platform.preview.events import fold
from triton_platform.preview.render import stack_section
from triton_platform.values.triton import rollout_values

PROMETHEUS = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"


def _section(rollout: dict[str, Any] | None) -> str:
    log = Log("prod")
    log.stack_same()
    old_values = triton_values(replicas=2, tag="25.01-py3")
    new_values = triton_values(replicas=2, tag="25.02-py3")
    if rollout is not None:
        old_values["rollout"] = rollout
        new_values["rollout"] = rollout
    old = {"chart": "charts/triton-inference-server", "values": old_values}
    new = {"chart": "charts/triton-inference-server", "values": new_values}
    log.step(OpType.UPDATE, RELEASE, "prod-triton-release", old=old, new=new, diffs=["values"], pkg="kubernetes")
    log.summary({"same": 1, "update": 1})
    return stack_section(fold("prod", log.events), 60_000, "details")


def test_canary_release_change_shows_steps_and_bounds() -> None:
    cfg = parse_stack("prod", *BEHIND_GATEWAY, set_key("triton.rollout", {"strategy": "canary"}))
    section = _section(rollout_values(cfg, prometheus_url=PROMETHEUS))
    assert "**Canary rollout plan**" in section
    assert "- `prod-triton-release`: canary `10` % for `5m` → `50` % for `10m` → `100` %" in section
    assert (
        "analysis every `1m`, aborted once one metric fails more than `1` time(s): "
        "`failure-ratio` ≤ `0.01`, `p99-latency-ms` ≤ `1000`, `queue-time-ms` ≤ `100`"
    ) in section


def test_without_monitoring_the_plan_says_nothing_judges() -> None:
    cfg = parse_stack("prod", *BEHIND_GATEWAY, set_key("triton.rollout", {"strategy": "canary"}))
    section = _section(rollout_values(cfg, prometheus_url=None))
    assert "no analysis (monitoring is off): the steps alone promote it" in section


def test_instant_release_change_shows_no_plan() -> None:
    assert "Canary rollout plan" not in _section(None)
