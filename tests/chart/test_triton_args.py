"""``triton.extraArgs`` and the chart's own tritonserver flags, rendered with the real helm.

The chart passes ``--metrics-config=summary_latencies=true`` (Triton server
docs/user_guide/metrics.md, "Summaries": ``nv_inference_request_summary_us`` exists only with it,
and the dashboard's quantile panel reads it); tests/components/monitoring/test_prometheus_scrape.py
shows a real tritonserver accepting the flag and exposing the summary after a request. A stack's
``triton.extraArgs`` come last on the command line; a flag the chart sets itself is refused by the
config rules (``triton_platform/config/rules/triton_args.py``) and by the chart, with the same
list (flag names and aliases from Triton's parser, server ``src/command_line_parser.cc``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.configs import SAMPLE_MLP, raw_config
from tests.support.helm import CHART, pod_spec, render_triton, triton_container
from tests.support.stacks import REPO
from tests.support.tools import helm_path
from triton_platform.config import ConfigError, parse_config
from triton_platform.config.rules.triton_args import CHART_FLAGS, CHART_METRICS_CONFIG
from triton_platform.values.triton import triton_values

pytestmark = pytest.mark.chart
SUMMARY = "--metrics-config=summary_latencies=true"


def _cfg(extra_args: list[Any]) -> Any:
    raw = raw_config("local", models=[SAMPLE_MLP], triton={"extraArgs": extra_args})
    return parse_config(raw, base_dir=REPO, stack="t")


def _args(values: dict[str, Any], tmp_path: Path) -> list[str]:
    args: list[str] = triton_container(pod_spec(render_triton(values, tmp_path)))["args"]
    return args


def _helm_fails(values: dict[str, Any], tmp_path: Path) -> str:
    """stderr of a ``helm template`` that must fail."""
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(values))
    proc = subprocess.run(
        [str(helm_path()), "template", "triton", str(CHART), "-n", "triton", "-f", str(tmp_path / "bad.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0, f"helm accepted {values}"
    return proc.stderr


def test_stack_extra_args_come_last_after_the_summary_flag(tmp_path: Path) -> None:
    extra = ["--model-load-thread-count=2", "--metrics-config=summary_quantiles=0.5:0.05,0.99:0.001"]
    values = triton_values(_cfg(extra), repository_uri="s3://bucket/models", base_dir=REPO)
    args = _args(values, tmp_path)
    assert args[-2:] == extra
    assert SUMMARY in args
    assert args.index(SUMMARY) < args.index(extra[0])


def test_no_summary_flag_when_metrics_are_off(tmp_path: Path) -> None:
    args = _args({"metrics": {"enabled": False, "serviceMonitor": {"enabled": False}}}, tmp_path)
    assert "--allow-metrics=false" in args
    assert not any(a.startswith("--metrics-config") for a in args)


@pytest.mark.parametrize(
    ("arg", "words"),
    [
        ("--model-repository=s3://other/models", ["sets --model-repository", "triton-platform:modelRepository"]),
        ("--model-store=/models", ["sets --model-store", "triton-platform:modelRepository"]),
        ("--http-port=9000", ["sets --http-port", "triton-platform:triton.service.httpPort"]),
        ("--model-control-mode=explicit", ["triton-platform:triton.modelControlMode"]),
        ("--strict-readiness=false", ["sets --strict-readiness", "the chart fixes it"]),
        ("--metrics-config=summary_latencies=false", ["--metrics-config=summary_latencies"]),
        ("--metrics-config=counter_latencies=false", ["--metrics-config=counter_latencies"]),
        ("--log-verbose 1", ["'--name=value'", "no space"]),
        ("exit-timeout-secs=30", ["'--name=value'"]),
        ("-v", ["'--name=value'"]),
    ],
)
def test_bad_extra_args_are_refused_naming_the_key_with_an_example(arg: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        _cfg(["--model-load-thread-count=2", arg])
    message = str(err.value)
    assert "triton-platform:triton.extraArgs[1]" in message, message
    assert "(example: '--" in message, message
    for word in words:
        assert word in message, message


def test_a_repeated_extra_arg_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"triton.extraArgs\[1\]: '--id=a' is given twice"):
        _cfg(["--id=a", "--id=a"])


def test_not_a_string_is_a_type_error_of_the_key() -> None:
    with pytest.raises(ConfigError, match=r"triton\.extraArgs"):
        _cfg([30])


def _chart_owned() -> set[str]:
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    (owned,) = re.findall(r"\$owned := list ((?:\"[a-z-]+\" ?)+)", helpers)
    return set(re.findall(r'"([a-z-]+)"', owned))


def test_the_chart_and_the_config_rules_refuse_the_same_flags() -> None:
    assert _chart_owned() == set(CHART_FLAGS)
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    assert f"--metrics-config=({'|'.join(CHART_METRICS_CONFIG)})=" in helpers


@pytest.mark.parametrize("flag", sorted(CHART_FLAGS))
def test_the_chart_itself_refuses_each_flag_it_sets(flag: str, tmp_path: Path) -> None:
    stderr = _helm_fails({"triton": {"extraArgs": [f"--{flag}=x"]}}, tmp_path)
    assert f"sets --{flag}, which the chart sets itself" in stderr, stderr


def test_the_chart_schema_refuses_a_flag_without_dashes(tmp_path: Path) -> None:
    stderr = _helm_fails({"triton": {"extraArgs": ["log-verbose=1"]}}, tmp_path)
    assert "/triton/extraArgs/0" in stderr, stderr


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"triton": {"modelControlMode": "explicit", "loadModels": ["a"]}},
        {"metrics": {"enabled": False, "serviceMonitor": {"enabled": False}}},
    ],
)
def test_every_flag_the_chart_renders_is_one_the_rules_protect(values: dict[str, Any], tmp_path: Path) -> None:
    """A flag added to the chart's args must be added to CHART_FLAGS (and the chart's check)."""
    names = {a[2:].split("=", 1)[0] for a in _args(values, tmp_path)}
    assert names - {"metrics-config"} <= set(CHART_FLAGS), names - set(CHART_FLAGS)
