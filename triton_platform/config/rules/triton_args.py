"""Rules of ``triton.extraArgs``: tritonserver flags a stack adds after the chart's own.

Each entry is one argv element in tritonserver's long-option form, ``--name`` or
``--name=value`` (its parser, server ``src/command_line_parser.cc``: getopt_long, every option a
long one). The chart (``charts/triton-inference-server/templates/_helpers.tpl``, "args") already
sets the repository, the model control mode, the ports, readiness, config completion, the exit
timeout (drain), the log level and the metrics it serves; a second value of one of those would silently change what the
probes, the Service, the ServiceMonitor, the dashboard, the alerts and the HPA rely on, so such
flags are refused (the chart refuses them too). ``--metrics-config`` may be repeated with other
keys (``summary_quantiles`` ...), but not with the two latency switches the chart depends on.
"""

from __future__ import annotations

import re

from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig

EXAMPLE = "'--model-load-thread-count=2'"
# tritonserver's long options are lowercase words joined by '-'; the value follows one '='.
_ARG = re.compile(r"^--(?P<name>[a-z][a-z0-9-]*)(=(?P<value>.*))?$", re.DOTALL)
# Flags the chart sets itself (with aliases Triton treats the same: --model-store is
# --model-repository, --strict-model-config the old --disable-auto-complete-config), and the
# stack key that sets each, or None where the chart fixes the value.
CHART_FLAGS: dict[str, str | None] = {
    "model-repository": "modelRepository",
    "model-store": "modelRepository",
    "model-control-mode": "triton.modelControlMode",
    "repository-poll-secs": "triton.repositoryPollSeconds",
    "load-model": None,
    "strict-readiness": None,
    "disable-auto-complete-config": None,
    "strict-model-config": None,
    # From the drain settings: preStop sleep + exit timeout must fit the termination grace period.
    "exit-timeout-secs": None,
    "allow-http": None,
    "allow-grpc": None,
    "allow-metrics": "monitoring.enabled",
    "http-address": None,
    "grpc-address": None,
    "metrics-address": None,
    "http-port": "triton.service.httpPort",
    "grpc-port": "triton.service.grpcPort",
    "metrics-port": "triton.service.metricsPort",
    "log-verbose": None,
}
# --metrics-config keys the chart sets or the platform reads: summary latencies feed the
# dashboard's quantile panel; the latency counters feed the alerts, the dashboard and the HPA.
CHART_METRICS_CONFIG = ("summary_latencies", "counter_latencies")


def _arg_issue(index: int, arg: object) -> Issue | None:
    where = key(f"triton.extraArgs[{index}]")
    match = _ARG.match(arg) if isinstance(arg, str) else None
    if match is None:
        return Issue(
            where,
            f"must be one tritonserver flag written '--name=value' (no space before the value), got {arg!r}",
            EXAMPLE,
        )
    name, value = match.group("name"), match.group("value") or ""
    if name in CHART_FLAGS:
        setter = CHART_FLAGS[name]
        how = f"set {key(setter)} instead" if setter else "the chart fixes it"
        return Issue(where, f"{arg!r} sets --{name}, which the chart already sets ({how})", EXAMPLE)
    config_key = value.split("=", 1)[0]
    if name == "metrics-config" and config_key in CHART_METRICS_CONFIG:
        return Issue(
            where,
            f"{arg!r} changes --metrics-config={config_key}, which the chart sets for the dashboard, "
            "the alerts and the autoscaler",
            "'--metrics-config=summary_quantiles=0.5:0.05,0.9:0.01,0.99:0.001'",
        )
    return None


def extra_args_issues(cfg: PlatformConfig) -> list[Issue]:
    """Every ``triton.extraArgs`` entry is a well-formed flag the chart does not set, given once."""
    issues = [issue for i, arg in enumerate(cfg.triton.extra_args) if (issue := _arg_issue(i, arg))]
    seen: set[str] = set()
    for i, arg in enumerate(cfg.triton.extra_args):
        if arg in seen:
            issues.append(Issue(key(f"triton.extraArgs[{i}]"), f"{arg!r} is given twice", EXAMPLE))
        seen.add(arg)
    return issues
