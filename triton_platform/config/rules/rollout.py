"""Rules of ``triton.rollout``: canary steps that Argo Rollouts can run and judge.

Weights rise strictly (1-100), 100 only as the last step (it is implied after the last otherwise);
every step below 100 holds for a duration (a step without one would pause until a person promotes)
at least as long as one analysis interval (so each step is measured at least once); the interval
spans at least two scrapes of the ServiceMonitor (15 s), or ``rate()`` has nothing to compute.
"""

from __future__ import annotations

from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig

CANARY = "triton.rollout.canary"
SCRAPE_INTERVAL_S = 15  # the Triton ServiceMonitor's interval (triton_platform/values/triton.py)
_UNIT_S = {"s": 1, "m": 60, "h": 3600}


def duration_seconds(duration: str) -> int:
    """Seconds of a duration the schema accepted (``30s``, ``5m``, ``1h``)."""
    return int(duration[:-1]) * _UNIT_S[duration[-1]]


def _step_issues(cfg: PlatformConfig) -> list[Issue]:
    canary = cfg.triton.rollout.canary
    interval_s = duration_seconds(canary.analysis.interval)
    issues: list[Issue] = []
    previous = 0
    for i, step in enumerate(canary.steps):
        where = f"{CANARY}.steps[{i}]"
        if step.weight <= previous:
            issues.append(
                Issue(key(f"{where}.weight"), f"must be above the step before ({previous})", str(previous + 10))
            )
        elif step.weight == 100 and i != len(canary.steps) - 1:
            issues.append(Issue(key(f"{where}.weight"), "100 only on the last step (it ends the rollout)", "50"))
        previous = step.weight
        if step.weight < 100 and step.pause is None:
            # Argo Rollouts' pause without a duration waits for a person: promotion must be automatic.
            issues.append(Issue(key(f"{where}.pause"), "needed below 100 %: how long the step holds", "5m"))
        elif step.pause is not None and duration_seconds(step.pause) < interval_s:
            issues.append(
                Issue(
                    key(f"{where}.pause"),
                    f"shorter than analysis.interval ({canary.analysis.interval}): the step would not be measured",
                    canary.analysis.interval,
                )
            )
    return issues


def _prerequisite_issues(cfg: PlatformConfig) -> list[Issue]:
    """A canary is judged on Prometheus (monitoring) and weighted per request at the Gateway.

    Without monitoring the AnalysisTemplate has no Prometheus to ask, and without the Gateway
    Argo Rollouts could only weight by replica counts (kube-proxy balances connections, so a
    gRPC client stays on one pod: triton-inference-server/server#6177).
    """
    issues = []
    if not cfg.monitoring.enabled:
        issues.append(
            Issue(
                key("triton.rollout.strategy"),
                "canary needs monitoring.enabled: true (its analysis reads Prometheus)",
                "'instant'",
            )
        )
    if not cfg.triton.gateway.enabled:
        issues.append(
            Issue(
                key("triton.rollout.strategy"),
                "canary needs triton.gateway.enabled: true (traffic weights move on the Gateway's routes)",
                "'instant'",
            )
        )
    return issues


def _model_control_issues(cfg: PlatformConfig) -> list[Issue]:
    """Under canary each pod loads its release's immutable location once (``--model-control-mode=none``).

    ``poll`` (the default) and ``none`` both render ``none``: the location never changes, a new release
    comes as new pods. ``explicit`` would start pods serving no model until a client loads one: a
    canary judged on nothing, and pods that serve something other than the release.
    """
    if cfg.triton.model_control_mode != "explicit":
        return []
    return [
        Issue(
            key("triton.modelControlMode"),
            "explicit cannot serve a canary release: under triton.rollout.strategy canary every pod loads its "
            "release's own location once, at start (poll and none both run as none)",
            "'none'",
        )
    ]


def rollout_issues(cfg: PlatformConfig) -> list[Issue]:
    """With ``strategy: canary``: monitoring and the Gateway on, steps and analysis interval that fit together."""
    rollout = cfg.triton.rollout
    if rollout.strategy != "canary":
        return []
    prerequisites = _prerequisite_issues(cfg) + _model_control_issues(cfg)
    if prerequisites:
        return prerequisites
    interval = rollout.canary.analysis.interval
    if duration_seconds(interval) < 2 * SCRAPE_INTERVAL_S:
        return [
            Issue(
                key(f"{CANARY}.analysis.interval"),
                f"at least {2 * SCRAPE_INTERVAL_S}s: two scrapes of Triton's metrics ({SCRAPE_INTERVAL_S}s apart)",
                "1m",
            )
        ]
    return _step_issues(cfg)
