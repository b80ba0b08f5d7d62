"""The policy pack as the Pulumi CLI runs it: `python policy` in its own venv serves pulumi's
Analyzer gRPC service; this test talks to it with the SDK's own analyzer protos, the calls the
CLI makes during `pulumi preview --policy-pack policy --policy-pack-config FILE`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policy.rules import RULES, STACK_RULE_NAME
from tests.support import policy_venv
from triton_platform.preview.stacks import policy_config

# The pack serves gRPC on 127.0.0.1 (integration); the first run builds .cache/policy-venv with pip.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    exe = policy_venv.python()
    proc = subprocess.Popen(
        [str(exe), "-u", "policy"], cwd=policy_venv.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()  # the pack prints its port first, as the CLI expects
        if not line.isdigit():
            proc.kill()
            _, err = proc.communicate(timeout=30)
            raise AssertionError(f"the policy pack did not start: {line!r} {err}")
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=60)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.kill()
        proc.wait(timeout=30)


def _analyze(stub: analyzer_pb2_grpc.AnalyzerStub, type_: str, props: dict[str, Any]) -> list[Any]:
    s = struct_pb2.Struct()
    s.update(props)
    name = "r"
    urn = f"urn:pulumi:prod::triton-platform::{type_}::{name}"
    return list(stub.Analyze(analyzer_pb2.AnalyzeRequest(type=type_, properties=s, urn=urn, name=name)).diagnostics)


def _configure(stub: analyzer_pb2_grpc.AnalyzerStub, config: dict[str, dict[str, Any]]) -> None:
    req = analyzer_pb2.ConfigureAnalyzerRequest()
    for policy, props in config.items():
        req.policyConfig[policy].properties.update(props)
        req.policyConfig[policy].enforcementLevel = analyzer_pb2.MANDATORY
    stub.Configure(req)


def test_pack_info(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "triton-platform"
    assert info.supportsConfig
    by_name = {p.name: p for p in info.policies}
    assert set(by_name) == {r.name for r in RULES} | {STACK_RULE_NAME}
    assert all(p.enforcementLevel == analyzer_pb2.MANDATORY for p in info.policies)
    schema = by_name["triton-not-public"].configSchema
    assert "allowPublicLoadBalancer" in schema.properties


def test_violations_over_the_wire(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    _configure(analyzer, policy_config(Path("Pulumi.prod.yaml")))
    [d] = _analyze(analyzer, "aws:iam/accessKey:AccessKey", {"user": "triton"})
    assert d.policyName == "no-static-cloud-keys"
    assert d.enforcementLevel == analyzer_pb2.MANDATORY
    release = {
        "chart": "charts/triton-inference-server",
        "values": {"image": {"repository": "nvcr.io/nvidia/tritonserver"}, "service": {"type": "LoadBalancer"}},
    }
    [d] = _analyze(analyzer, "kubernetes:helm.sh/v3:Release", release)
    assert d.policyName == "triton-not-public"
    pool = {"vmSize": "Standard_NC24ads_A100_v4", "nodeTaints": []}
    assert [x.policyName for x in _analyze(analyzer, "azure-native:containerservice:AgentPool", pool)] == [
        "gpu-pools-tainted"
    ]
    ok = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}
    assert _analyze(analyzer, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", ok) == []


def test_the_stack_opt_ins_reach_the_rules(analyzer: analyzer_pb2_grpc.AnalyzerStub, tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.open.yaml"
    stack.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "triton-platform:cloud": "aws",
                    "triton-platform:modelRepository": {"staticKeys": True},
                    "triton-platform:triton": {"service": {"type": "LoadBalancer", "internal": False}},
                }
            }
        )
    )
    _configure(analyzer, policy_config(stack))
    assert _analyze(analyzer, "aws:iam/accessKey:AccessKey", {"user": "triton"}) == []
    release = {"chart": "charts/triton-inference-server", "values": {"service": {"type": "LoadBalancer"}}}
    assert _analyze(analyzer, "kubernetes:helm.sh/v3:Release", release) == []
