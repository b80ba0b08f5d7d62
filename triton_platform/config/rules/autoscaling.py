"""Rules of ``triton.autoscaling`` and ``triton.loadTest`` against the rest of the stack.

The HPA's metric must be fed (Prometheus for Triton's metrics, a GPU pool without MIG for DCGM's
utilisation), and the load test must find a concrete shape for every model input
(``triton_platform.publisher.shapes``, the same reading the chart's ``helm test`` Job gets).
"""

from __future__ import annotations

from pathlib import Path

from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig
from triton_platform.publisher.errors import PublisherError
from triton_platform.publisher.shapes import LoadTestShapeError, model_shapes


def _metric_issues(cfg: PlatformConfig) -> list[Issue]:
    """What feeds the scaling metric, and a target that fits it."""
    auto = cfg.triton.autoscaling
    issues: list[Issue] = []
    metric, target = auto.effective_metric, auto.effective_target
    if target is None:
        issues.append(
            Issue(
                key("triton.autoscaling.target"),
                f"metric {metric!r} has no default target: give requests per second per pod",
                "100",
            )
        )
    elif metric in ("gpuUtilization", "cpu") and target > 100:
        issues.append(
            Issue(
                key("triton.autoscaling.target"),
                f"metric {metric!r} is a percentage: at most 100, got {target:g}",
                "80",
            )
        )
    if metric != "cpu" and not cfg.monitoring.enabled:
        issues.append(
            Issue(
                key("triton.autoscaling.metric"),
                f"{metric!r} is read from the stack's Prometheus by prometheus-adapter; it needs monitoring.enabled "
                "(or use metric 'cpu')",
                "'cpu'",
            )
        )
    if metric == "gpuUtilization":
        issues += _gpu_utilization_issues(cfg)
    return issues


def _gpu_utilization_issues(cfg: PlatformConfig) -> list[Issue]:
    """DCGM's GPU utilisation needs a GPU pool, and whole GPUs (it reports none per MIG slice)."""
    if cfg.cluster.gpu_node_pool is None:
        return [
            Issue(
                key("triton.autoscaling.metric"),
                "'gpuUtilization' needs a GPU node pool (cluster.gpuNodePool)",
                "'queueTime'",
            )
        ]
    if cfg.gpu.mig_strategy != "none":
        # DCGM does not report DCGM_FI_DEV_GPU_UTIL for MIG instances.
        return [
            Issue(
                key("triton.autoscaling.metric"),
                "DCGM reports no GPU utilisation per MIG slice; use 'queueTime' with MIG",
                "'queueTime'",
            )
        ]
    return []


def autoscaling_issues(cfg: PlatformConfig) -> list[Issue]:
    """An enabled HPA: replica bounds in order, and a metric the stack feeds."""
    auto = cfg.triton.autoscaling
    if not auto.enabled:
        return []
    issues: list[Issue] = []
    if auto.min_replicas > auto.max_replicas:
        issues.append(Issue(key("triton.autoscaling.minReplicas"), "must be <= maxReplicas", "1"))
    return issues + _metric_issues(cfg)


def load_test_issues(cfg: PlatformConfig, base_dir: Path) -> list[Issue]:
    """Every model's load-test input shapes can be derived from its ONNX graph (as the Job will need)."""
    issues: list[Issue] = []
    if not cfg.triton.load_test.enabled:
        return issues
    for i, m in enumerate(cfg.models):
        try:
            model_shapes(m, base_dir, key=f"models[{i}]")
        except LoadTestShapeError as exc:
            issues.append(Issue(key(exc.key), exc.reason, exc.example))
        except PublisherError:
            pass  # an unreadable graph or a bad spec: the model's own checks (and the publisher) report it
    return issues
