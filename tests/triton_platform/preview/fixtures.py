"""Event-log fixtures built with the Pulumi SDK's own event classes (pulumi.automation.events).

Each scenario is a list of ``EngineEvent`` objects; :func:`to_json` writes one the way the CLI's
``--event-log`` does (the JSON tags of sdk/go/common/apitype/events.go, which the SDK's
``from_json`` reads), and :func:`write_log` checks that every line parses back, with
``EngineEvent.from_json``, into an equal object: no fixture holds JSON the SDK would not read.
ModelVersion inputs come from the real ``ModelVersionArgs.props()``.

    python -m tests.triton_platform.preview.fixtures DIR   # writes every scenario as DIR/<scenario>.jsonl
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from pulumi.automation.events import (
    CancelEvent,
    DiagnosticEvent,
    EngineEvent,
    OpType,
    PolicyEvent,
    PropertyDiff,
    ResOpFailedEvent,
    ResourcePreEvent,
    StepEventMetadata,
    StepEventStateMetadata,
    SummaryEvent,
)

from components.providers.model_version import OUTPUT_KEYS, ModelVersionArgs
from triton_platform.preview.fields import SECRET_SIG, SIG_KEY
from triton_platform.publisher.spec import ModelSpec

PROJECT = "triton-platform"
# Planted in inputs that are not on the allow-list: a comment that shows them leaks.
LEAK = "LEAKED-VALUE-9f1c"
SECRET_PLAINTEXT = "s3cr3t-plaintext"

# --- serialization (inverse of the SDK's from_json) ------------------------------------------

_STATE_KEYS = {
    "type": "type",
    "urn": "urn",
    "id": "id",
    "parent": "parent",
    "provider": "provider",
    "custom": "custom",
    "delete": "delete",
    "protect": "protect",
    "retain_on_delete": "retainOnDelete",
    "inputs": "inputs",
    "outputs": "outputs",
    "init_errors": "initErrors",
    "taint": "taint",
}


def _drop_none(d: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _state(s: StepEventStateMetadata | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return _drop_none({json_key: getattr(s, attr) for attr, json_key in _STATE_KEYS.items()})


def _metadata(m: StepEventMetadata) -> dict[str, Any]:
    return _drop_none(
        {
            "op": m.op.value,
            "urn": m.urn,
            "type": m.type,
            "provider": m.provider,
            "old": _state(m.old),
            "new": _state(m.new),
            "keys": m.keys,
            "diffs": m.diffs,
            "detailedDiff": (
                {k: {"diffKind": v.diff_kind.value, "inputDiff": v.input_diff} for k, v in m.detailed_diff.items()}
                if m.detailed_diff
                else None
            ),
            "logical": m.logical,
        }
    )


def to_json(e: EngineEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"sequence": e.sequence, "timestamp": e.timestamp}
    if e.cancel_event is not None:
        out["cancelEvent"] = {}
    if e.diagnostic_event is not None:
        d = e.diagnostic_event
        out["diagnosticEvent"] = _drop_none(
            {
                "urn": d.urn,
                "prefix": d.prefix,
                "message": d.message,
                "color": d.color,
                "severity": d.severity,
                "streamId": d.stream_id,
                "ephemeral": d.ephemeral,
            }
        )
    if e.policy_event is not None:
        p = e.policy_event
        out["policyEvent"] = _drop_none(
            {
                "resourceUrn": p.resource_urn,
                "message": p.message,
                "color": p.color,
                "policyName": p.policy_name,
                "policyPackName": p.policy_pack_name,
                "policyPackVersion": p.policy_pack_version,
                "policyPackVersionTag": p.policy_pack_version_tag,
                "enforcementLevel": p.enforcement_level,
            }
        )
    if e.summary_event is not None:
        s = e.summary_event
        out["summaryEvent"] = {
            "maybeCorrupt": s.maybe_corrupt,
            "durationSeconds": s.duration_seconds,
            "resourceChanges": {str(getattr(k, "value", k)): v for k, v in s.resource_changes.items()},
            # PascalCase in the Go type (see the SDK's SummaryEvent docstring).
            "PolicyPacks": dict(s.policy_packs),
        }
    if e.resource_pre_event is not None:
        out["resourcePreEvent"] = _drop_none(
            {"metadata": _metadata(e.resource_pre_event.metadata), "planning": e.resource_pre_event.planning}
        )
    if e.res_op_failed_event is not None:
        f = e.res_op_failed_event
        out["resOpFailedEvent"] = {"metadata": _metadata(f.metadata), "status": f.status, "steps": f.steps}
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k: _plain(v) for k, v in vars(value).items()}
    return value


def write_log(path: Path, events: list[EngineEvent]) -> Path:
    """Write ``events`` as an event log; every line must parse back into an equal event."""
    lines = []
    for e in events:
        data = to_json(e)
        back = EngineEvent.from_json(json.loads(json.dumps(data)))
        if _plain(back) != _plain(e):
            raise AssertionError(f"event {e.sequence} does not round-trip through EngineEvent.from_json")
        lines.append(json.dumps(data, sort_keys=True))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- building blocks ---------------------------------------------------------------------------


class Log:
    """Accumulates events with increasing sequence numbers, like the engine."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.events: list[EngineEvent] = []
        self._t = 1_767_225_600  # a fixed timestamp: fixtures are deterministic

    def _add(self, **kw: Any) -> None:
        self.events.append(EngineEvent(sequence=len(self.events), timestamp=self._t + len(self.events), **kw))

    def urn(self, type_: str, name: str, parents: str = "") -> str:
        chain = f"{parents}${type_}" if parents else type_
        return f"urn:pulumi:{self.stack}::{PROJECT}::{chain}::{name}"

    def provider(self, pkg: str) -> str:
        return (
            f"urn:pulumi:{self.stack}::{PROJECT}::pulumi:providers:{pkg}::default::04e6f3b2-6a1c-4a57-9e0e-1f2a3b4c5d6e"
        )

    def step(
        self,
        op: OpType,
        type_: str,
        name: str,
        *,
        parents: str = "",
        old: Mapping[str, Any] | None = None,
        new: Mapping[str, Any] | None = None,
        old_outputs: Mapping[str, Any] | None = None,
        diffs: list[str] | None = None,
        keys: list[str] | None = None,
        protect: bool | None = None,
        retain: bool | None = None,
        pkg: str = "aws",
    ) -> str:
        urn = self.urn(type_, name, parents)
        provider = self.provider(pkg) if not type_.startswith("pulumi:pulumi:") else ""
        parent = self.urn("pulumi:pulumi:Stack", f"{PROJECT}-{self.stack}")

        def state(inputs: Mapping[str, Any] | None, outputs: Mapping[str, Any] | None) -> StepEventStateMetadata:
            return StepEventStateMetadata(
                type=type_,
                urn=urn,
                id=f"{name}-id" if outputs is not None else "",
                parent=parent,
                provider=provider,
                custom=True,
                delete=False,
                protect=protect,
                retain_on_delete=retain,
                inputs=dict(inputs or {}),
                outputs=dict(outputs) if outputs is not None else {},
            )

        old_state = state(old, old_outputs if old_outputs is not None else dict(old or {})) if old is not None else None
        new_state = state(new, None) if new is not None else None
        detailed = {k: PropertyDiff.from_json({"diffKind": "update", "inputDiff": True}) for k in diffs or []}
        md = StepEventMetadata(
            op=op,
            urn=urn,
            type=type_,
            provider=provider,
            old=old_state,
            new=new_state,
            keys=keys,
            diffs=diffs,
            detailed_diff=detailed,
            logical=True,
        )
        self._add(resource_pre_event=ResourcePreEvent(metadata=md, planning=True))
        return urn

    def replace(
        self, type_: str, name: str, *, old: Mapping[str, Any], new: Mapping[str, Any], keys: list[str], **kw: Any
    ) -> str:
        """A replacement as the engine steps it: create-replacement, replace, delete-replaced."""
        urn = ""
        for op in (OpType.CREATE_REPLACEMENT, OpType.REPLACE, OpType.DELETE_REPLACED):
            urn = self.step(op, type_, name, old=old, new=new, keys=keys, diffs=keys, **kw)
        return urn

    def stack_same(self) -> None:
        self.step(OpType.SAME, "pulumi:pulumi:Stack", f"{PROJECT}-{self.stack}", old={}, new={}, pkg="")

    def diagnostic(self, message: str, severity: str, urn: str | None = None) -> None:
        self._add(diagnostic_event=DiagnosticEvent(message=message, color="raw", severity=severity, urn=urn))

    def policy(self, name: str, message: str, level: str, urn: str | None) -> None:
        self._add(
            policy_event=PolicyEvent(
                message=message,
                color="raw",
                policy_name=name,
                policy_pack_name="triton-platform",
                policy_pack_version="1.0.0",
                policy_pack_version_tag="1.0.0",
                enforcement_level=level,
                resource_urn=urn,
            )
        )

    def summary(self, changes: Mapping[str, int]) -> None:
        self._add(
            summary_event=SummaryEvent(
                maybe_corrupt=False,
                duration_seconds=12,
                resource_changes={OpType(k): v for k, v in changes.items()},
                policy_packs={"triton-platform": "v1.0.0"},
            )
        )

    def op_failed(self, urn: str, type_: str) -> None:
        md = StepEventMetadata(op=OpType.UPDATE, urn=urn, type=type_, provider="")
        self._add(res_op_failed_event=ResOpFailedEvent(metadata=md, status=1, steps=0))

    def cancel(self) -> None:
        self._add(cancel_event=CancelEvent())


def secret(_plaintext: str) -> dict[str, Any]:
    """A secret as the engine writes it to an event log: the blinded serialized secret object."""
    return {SIG_KEY: SECRET_SIG, "ciphertext": "[secret]"}


def model_inputs(
    *,
    name: str = "resnet50",
    fingerprint: str,
    max_batch_size: int = 32,
    revision: int = 0,
    ngc_release: str = "25.01",
    ccs: tuple[str, ...] = ("8.0",),
    fmt: str = "tensorrt",
) -> dict[str, Any]:
    spec = ModelSpec.model_validate(
        {
            "name": name,
            "source": f"models/{name}.onnx",
            "format": fmt,
            "precision": "fp16" if fmt == "tensorrt" else "fp32",
            "maxBatchSize": max_batch_size,
            "revision": revision,
            "instanceKind": "gpu",
        }
    )
    args = ModelVersionArgs(
        spec=spec,
        source_fingerprint=fingerprint,
        store={"kind": "s3", "bucket": "triton-prod-models", "prefix": "models", "region": "us-east-1"},
        builder={"kind": "kubernetes", "kubeconfig_path": ".state/prod.kubeconfig"},
        ngc_release=ngc_release,
        compute_capabilities=list(ccs),
        instance_kind="KIND_GPU",
    )
    props = args.props()
    # Dynamic resources carry their pickled provider as an input (pulumi/dynamic/dynamic.py).
    props["__provider"] = LEAK + "-pickled-provider"
    return props


def model_outputs(inputs: Mapping[str, Any], version: int) -> dict[str, Any]:
    out = dict(inputs)
    out.update(dict.fromkeys(OUTPUT_KEYS))
    out.update({"version": version, "published_versions": [version], "repository_path": "models/resnet50"})
    return out


SHA_A = "a3f1c9e27b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7"
SHA_B = "5d41402abc4b2a76b9719d911017c592ae8b7c1d2e3f405162738495a6b7c8d9"


def triton_values(*, replicas: int, tag: Any, credentials: Any = "") -> dict[str, Any]:
    return {
        "replicaCount": replicas,
        "image": {"repository": "nvcr.io/nvidia/tritonserver", "tag": tag, "pullPolicy": "IfNotPresent"},
        "modelRepository": {"uri": f"s3://{LEAK}/models", "credentialsSecret": credentials},
        "service": {"type": "LoadBalancer"},
        "gpu": {"resources": {"nvidia.com/gpu": 1}},
        "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 8},
    }


# --- scenarios ---------------------------------------------------------------------------------

S3 = "aws:s3/bucket:Bucket"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_POOL = "gcp:container/nodePool:NodePool"
RELEASE = "kubernetes:helm.sh/v3:Release"
MV = "pulumi-python:dynamic/triton:ModelVersion"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def no_change(stack: str = "prod") -> list[EngineEvent]:
    log = Log(stack)
    log.stack_same()
    bucket = {"bucket": "triton-prod-models", "forceDestroy": False, "tags": {"owner": LEAK}}
    log.step(OpType.SAME, S3, "prod-models", old=bucket, new=bucket)
    ng = {"instanceTypes": ["p4d.24xlarge"], "scalingConfig": {"minSize": 1, "maxSize": 2, "desiredSize": 1}}
    log.step(OpType.SAME, NODE_GROUP, "prod-gpu", old=ng, new=ng)
    mv = model_inputs(fingerprint=SHA_A)
    log.step(OpType.SAME, MV, "prod-resnet50", old=mv, new=mv, old_outputs=model_outputs(mv, 3), pkg="pulumi-python")
    log.summary({"same": 4})
    return log.events


def model_update(stack: str = "staging") -> list[EngineEvent]:
    log = Log(stack)
    log.stack_same()
    old = model_inputs(fingerprint=SHA_A, max_batch_size=32, revision=0, ccs=("8.0",))
    new = model_inputs(fingerprint=SHA_B, max_batch_size=64, revision=1, ccs=("8.0", "9.0"))
    log.step(
        OpType.UPDATE,
        MV,
        "staging-resnet50",
        old=old,
        new=new,
        old_outputs=model_outputs(old, 3),
        diffs=["source_fingerprint", "spec", "compute_capabilities"],
        pkg="pulumi-python",
    )
    old2 = model_inputs(name="bert", fingerprint=SHA_A, ccs=("8.0",))
    new2 = model_inputs(name="bert", fingerprint=SHA_A, ccs=("8.0", "9.0"))
    log.step(
        OpType.UPDATE,
        MV,
        "staging-bert",
        old=old2,
        new=new2,
        old_outputs=model_outputs(old2, 7),
        diffs=["compute_capabilities"],
        pkg="pulumi-python",
    )
    py = model_inputs(name="tokenizer", fingerprint=SHA_B, fmt="python", ccs=())
    log.step(OpType.CREATE, MV, "staging-tokenizer", new=py, pkg="pulumi-python")
    old_rel = {"chart": "charts/triton-inference-server", "values": triton_values(replicas=2, tag="25.01-py3")}
    new_rel = {
        "chart": "charts/triton-inference-server",
        "values": triton_values(replicas=3, tag=secret("25.02-py3"), credentials=secret(SECRET_PLAINTEXT)),
    }
    log.step(
        OpType.UPDATE, RELEASE, "staging-triton-release", old=old_rel, new=new_rel, diffs=["values"], pkg="kubernetes"
    )
    old_pool = {
        "nodeConfig": {
            "machineType": "a2-highgpu-1g",
            "guestAccelerators": [{"type": "nvidia-tesla-a100", "count": 1, "gpuPartitionSize": "1g.5gb"}],
            "labels": {"secret-ish": LEAK},
        },
        "autoscaling": {"totalMinNodeCount": 1, "totalMaxNodeCount": 3},
    }
    new_pool = json.loads(json.dumps(old_pool))
    new_pool["autoscaling"]["totalMaxNodeCount"] = 4
    pool = log.step(
        OpType.UPDATE, GKE_POOL, "staging-gpu-pool", old=old_pool, new=new_pool, diffs=["autoscaling"], pkg="gcp"
    )
    log.policy("gpu-pools-tainted", "GPU node pool without the nvidia.com/gpu NoSchedule taint", "advisory", pool)
    log.summary({"same": 1, "update": 4, "create": 1})
    return log.events


def bucket_replacement(stack: str = "prod") -> list[EngineEvent]:
    log = Log(stack)
    log.stack_same()
    old = {"bucket": "triton-prod-models", "tags": {"owner": LEAK}}
    new = {"bucket": "triton-prod-models-v2", "tags": {"owner": LEAK}}
    log.replace(S3, "prod-models", old=old, new=new, keys=["bucket"], retain=True)
    old_ng = {"instanceTypes": ["p4d.24xlarge"], "scalingConfig": {"minSize": 1, "maxSize": 2, "desiredSize": 1}}
    new_ng = {"instanceTypes": ["p5.48xlarge"], "scalingConfig": {"minSize": 1, "maxSize": 2, "desiredSize": 1}}
    log.replace(NODE_GROUP, "prod-gpu", old=old_ng, new=new_ng, keys=["instanceTypes"])
    log.step(OpType.DELETE, CONFIG_MAP, "prod-old-dashboard", old={"data": {"x": LEAK}}, pkg="kubernetes")
    key = log.step(OpType.CREATE, "aws:iam/accessKey:AccessKey", "prod-static-reader-key", new={"user": LEAK})
    log.policy(
        "no-static-cloud-keys",
        "an IAM access key is a static cloud key; use keyless access (IRSA, GKE or AKS workload identity) "
        "or opt in with modelRepository.staticKeys: true",
        "mandatory",
        key,
    )
    log.summary({"same": 1, "replace": 2, "delete": 1, "create": 1})
    return log.events


def failed(stack: str = "prod-azure") -> list[EngineEvent]:
    log = Log(stack)
    log.stack_same()
    pool = {
        "vmSize": "Standard_NC24ads_A100_v4",
        "count": 1,
        "minCount": 1,
        "maxCount": 4,
        "gpuInstanceProfile": "MIG1g",
    }
    urn = log.step(
        OpType.UPDATE,
        "azure-native:containerservice:AgentPool",
        "prod-azure-gpu-pool",
        old=pool,
        new={**pool, "maxCount": 6},
        diffs=["maxCount"],
        pkg="azure-native",
    )
    log.diagnostic(
        "<{%fg 1%}>error: <{%reset%}>azure-native:containerservice:AgentPool resource 'prod-azure-gpu-pool': "
        'Code="QuotaExceeded" Message="Operation could not be completed as it results in exceeding approved '
        'standardNCADSA100v4Family Cores quota."<{%reset%}>\n',
        "error",
        urn,
    )
    log.diagnostic("<{%fg 1%}>error: <{%reset%}>preview failed<{%reset%}>\n", "error")
    return log.events


def large(stack: str = "prod", n: int = 2000) -> list[EngineEvent]:
    """A 2,000-resource preview: many updates and creates, a dozen model updates, some bucket deletes."""
    log = Log(stack)
    log.stack_same()
    counts = {"same": 1, "update": 0, "create": 0, "delete": 0}
    for i in range(12):
        old = model_inputs(name=f"model-{i:02d}", fingerprint=SHA_A)
        new = model_inputs(name=f"model-{i:02d}", fingerprint=SHA_B)
        log.step(
            OpType.UPDATE,
            MV,
            f"prod-model-{i:02d}",
            old=old,
            new=new,
            old_outputs=model_outputs(old, i + 1),
            diffs=["source_fingerprint"],
            pkg="pulumi-python",
        )
        counts["update"] += 1
    for i in range(40):
        log.step(OpType.DELETE, S3, f"prod-archive-{i:03d}", old={"bucket": f"archive-{i:03d}"})
        counts["delete"] += 1
    remaining = n - 1 - 12 - 40
    for i in range(remaining):
        if i % 2:
            log.step(
                OpType.UPDATE,
                CONFIG_MAP,
                f"prod-config-{i:04d}",
                old={"data": {"k": LEAK}},
                new={"data": {"k": LEAK + "2"}},
                diffs=["data"],
                pkg="kubernetes",
            )
            counts["update"] += 1
        else:
            log.step(OpType.CREATE, CONFIG_MAP, f"prod-config-{i:04d}", new={"data": {"k": LEAK}}, pkg="kubernetes")
            counts["create"] += 1
    log.summary(counts)
    return log.events


SCENARIOS: dict[str, Callable[[], list[EngineEvent]]] = {
    "no-change": no_change,
    "model-update": model_update,
    "bucket-replacement": bucket_replacement,
    "failed": failed,
    "large": large,
}


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else ".")
    out.mkdir(parents=True, exist_ok=True)
    for name, build in SCENARIOS.items():
        write_log(out / f"{name}.jsonl", build())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
