"""The real Prometheus tools from Debian's ``prometheus`` package: promtool and a bounded server.

- ``check_rules`` / ``run_rule_tests``: ``promtool check rules`` and ``promtool test rules`` on rule
  groups (the ``spec.groups`` of a PrometheusRule) and unit-test cases in promtool's own format
  (prometheus docs/configuration/unit_testing_rules.md).
- ``chart_metrics_args``: the metrics flags the chart gives tritonserver, for a real test server.
- ``run_prometheus``: a ``prometheus`` server on 127.0.0.1 (free port, private TSDB in a temporary
  directory, stopped on exit) scraping static targets, with the HTTP API's ``query``, ``series``
  and ``label values`` endpoints (prometheus docs/querying/api.md).

The binaries come from ``tests.support.tools`` (unpacked into ``.cache/prometheus``).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support import integration
from tests.support.helm import pod_spec, render_triton, triton_container
from tests.support.tools import prometheus_path, promtool_path
from tests.support.triton import free_port

STOP_TIMEOUT_S = 15.0


def promtool(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run promtool; the caller checks returncode (its output says what failed)."""
    return subprocess.run(
        [str(promtool_path()), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def write_rules(groups: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """A Prometheus rule file (``groups:``) from PrometheusRule ``spec.groups``."""
    path.write_text(yaml.safe_dump({"groups": [dict(g) for g in groups]}, sort_keys=False))
    return path


def check_rules(groups: Sequence[Mapping[str, Any]], workdir: Path, *lint: str) -> subprocess.CompletedProcess[str]:
    """``promtool check rules`` of the groups (``lint``: extra flags such as ``--lint=none``)."""
    return promtool("check", "rules", *lint, str(write_rules(groups, workdir / "rules.yaml")), cwd=workdir)


def run_rule_tests(
    groups: Sequence[Mapping[str, Any]],
    cases: Sequence[Mapping[str, Any]],
    workdir: Path,
    *,
    evaluation_interval: str = "1m",
) -> subprocess.CompletedProcess[str]:
    """``promtool test rules``: the groups as ``rules.yaml`` and the cases as ``tests.yaml``."""
    write_rules(groups, workdir / "rules.yaml")
    spec = {"rule_files": ["rules.yaml"], "evaluation_interval": evaluation_interval, "tests": list(cases)}
    (workdir / "tests.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return promtool("test", "rules", "tests.yaml", cwd=workdir)


def chart_metrics_args(workdir: Path) -> list[str]:
    """The ``--metrics-config`` flags of the chart's default tritonserver command line (real helm):
    what the tests give a real tritonserver so it exports what the cluster's Triton does."""
    args: list[str] = triton_container(pod_spec(render_triton({}, workdir)))["args"]
    return [a for a in args if a.startswith("--metrics-config")]


@dataclass
class Prometheus:
    """A running prometheus server and its HTTP API."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _get(self, path: str, params: Sequence[tuple[str, str]]) -> Any:
        url = f"{self.url}{path}?{urllib.parse.urlencode(list(params))}"
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as err:
            raise AssertionError(f"GET {url}: {err.code} {err.read().decode()[:500]}") from err
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query's vector (``[{"metric": {...}, "value": [t, "v"]}]``)."""
        params = [("query", expr)] + ([("time", f"{at:.3f}")] if at is not None else [])
        data = self._get("/api/v1/query", params)
        assert data["resultType"] == "vector", (expr, data)
        return list(data["result"])

    def series(self, match: str) -> list[dict[str, str]]:
        return list(self._get("/api/v1/series", [("match[]", match)]))

    def label_values(self, label: str, match: str) -> list[str]:
        return list(self._get(f"/api/v1/label/{label}/values", [("match[]", match)]))

    def targets_up(self) -> bool:
        targets = self._get("/api/v1/targets", [("state", "active")])["activeTargets"]
        return bool(targets) and all(t["health"] == "up" for t in targets)

    def wait_scraped(self, timeout: float = 30.0) -> None:
        """Until every target has been scraped successfully once."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}:\n{self.logs()}")
            with contextlib.suppress(OSError, AssertionError):
                if self.targets_up():
                    return
            time.sleep(0.2)
        raise TimeoutError(f"prometheus targets not up after {timeout:.0f} s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def static_scrape(job: str, target: str, labels: Mapping[str, str], interval: str = "1s") -> dict[str, Any]:
    """One scrape job of one target with the labels a ServiceMonitor's relabelling would add."""
    return {
        "job_name": job,
        "scrape_interval": interval,
        "scrape_timeout": interval,
        "static_configs": [{"targets": [target], "labels": dict(labels)}],
    }


@contextlib.contextmanager
def run_prometheus(scrape_configs: Sequence[Mapping[str, Any]], workdir: Path) -> Iterator[Prometheus]:
    """prometheus on 127.0.0.1 scraping ``scrape_configs``; its TSDB lives in ``workdir``."""
    integration.require_integration("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"evaluation_interval": "1s"}, "scrape_configs": list(scrape_configs)}))
    port = free_port()
    log_path = workdir / "prometheus.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                str(prometheus_path()),
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                "--storage.tsdb.retention.time=1h",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            start_new_session=True,
        )
    server = Prometheus(process, port, log_path)
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)
