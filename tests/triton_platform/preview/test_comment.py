"""The PR comment built from real-format event logs (fixtures made with the SDK's event classes)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.triton_platform.preview.fixtures import LEAK, SECRET_PLAINTEXT, SHA_A, SHA_B
from triton_platform.preview import comment as preview_comment
from triton_platform.preview.events import load, parse_lines
from triton_platform.preview.render import MAX_COMMENT_CHARS, SHA_DIGITS


def _section(md: str, stack: str) -> str:
    start = md.index(f"### Stack `{stack}`")
    nxt = md.find("### Stack ", start + 1)
    return md[start : nxt if nxt != -1 else len(md)]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert preview_comment.main(list(args)) == 0
    return capsys.readouterr().out


def test_every_fixture_is_read_by_the_sdk(logs: dict[str, Path]) -> None:
    # write_log already checked the round trip; here the files are parsed again, line by line.
    assert len(logs) >= 5
    for name, path in logs.items():
        events = parse_lines(path.read_text().splitlines())
        assert events, name
        assert [e.sequence for e in events] == sorted(e.sequence for e in events)


def test_counts_equal_the_summary_event(logs: dict[str, Path]) -> None:
    checked = 0
    for name, path in logs.items():
        p = load(name, path)
        if p.summary is None:
            continue
        summary = {str(getattr(k, "value", k)): v for k, v in p.summary.resource_changes.items()}
        assert p.counts() == {op: summary.get(op, 0) for op in p.counts()}, name
        assert p.counted_from_steps() == p.counts(), name
        checked += 1
    assert checked == 4


def test_no_change(capsys: pytest.CaptureFixture[str], logs: dict[str, Path]) -> None:
    md = _run(capsys, "--stack", f"prod={logs['no-change']}")
    section = _section(md, "prod")
    assert ":white_check_mark: no changes" in section
    assert "create **0** · update **0** · replace **0** · delete **0** · same **4**" in section
    assert "**Warnings" not in section
    assert "**Models**" not in section
    assert "**All changes**" not in section


def test_model_update_table(capsys: pytest.CaptureFixture[str], logs: dict[str, Path]) -> None:
    md = _run(capsys, "--stack", f"staging={logs['model-update']}")
    section = _section(md, "staging")
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r"^\| `([^`]+)` \| (?:update|create|delete|replace) .*$", section, re.M)
    }
    resnet = rows["resnet50"]
    assert f"source sha256 `{SHA_A[:SHA_DIGITS]}` → `{SHA_B[:SHA_DIGITS]}`" in resnet
    assert SHA_DIGITS >= 7
    assert SHA_A not in section
    assert "maxBatchSize `32` → `64`" in resnet
    assert "revision `0` → `1`" in resnet
    assert "GPU architectures `8.0` → `8.0, 9.0`" in resnet
    assert "| v3 |" in resnet
    # New bytes: every architecture builds again, with the TensorRT of the Triton release.
    assert "cc `8.0`, cc `9.0` with TensorRT `10.8.0`" in resnet
    # Same bytes and options, one architecture added: only its engine is built.
    bert = rows["bert"]
    assert "| v7 |" in bert
    assert "cc `9.0` with TensorRT" in bert
    assert "cc `8.0`" not in bert.split("|")[5]
    assert "none (python format)" in rows["tokenizer"]
    assert "| new |" in rows["tokenizer"]
    # GPU and serving changes.
    assert "Triton replicas `2` → `3`" in section
    assert "max nodes `3` → `4`" in section
    # Policy violations from the pack appear in the comment.
    assert "**advisory** `gpu-pools-tainted` on `staging-gpu-pool`" in section


def test_only_allow_listed_values_and_secrets_hidden(capsys: pytest.CaptureFixture[str], logs: dict[str, Path]) -> None:
    md = _run(capsys, *[a for name, path in logs.items() for a in ("--stack", f"{name}={path}")])
    assert LEAK not in md  # planted in labels, tags, data, bucket URIs, the pickled provider
    assert SECRET_PLAINTEXT not in md
    assert "image tag `25.01-py3` → `[secret]`" in md  # an allow-listed field that became a secret
    assert "ciphertext" not in md
    assert "1b47061264138c4ac30d75fd1eb44270" not in md


def test_bucket_replacement_warns_first(capsys: pytest.CaptureFixture[str], logs: dict[str, Path]) -> None:
    md = _run(capsys, "--stack", f"prod={logs['bucket-replacement']}")
    section = _section(md, "prod")
    warn_at = section.index("**Warnings: destroys data or capacity**")
    assert warn_at < section.index("replace **2**")  # before the counts
    assert "**replace** S3 bucket `prod-models`" in section
    assert "replaced because of `bucket`" in section
    assert "retainOnDelete" in section
    assert "**replace** EKS node group `prod-gpu`" in section
    assert "machine type `p4d.24xlarge` → `p5.48xlarge`" in section
    # A ConfigMap deletion destroys neither data nor capacity: listed, not warned about.
    assert "prod-old-dashboard" not in section[: section.index("replace **2**")]
    assert "| - delete | `kubernetes:core/v1:ConfigMap` | `prod-old-dashboard` |" in section
    assert "| `prod` | :no_entry: blocked by policy | :warning: 2 |" in md
    assert "- :no_entry: **mandatory** `no-static-cloud-keys` on `prod-static-reader-key`" in section


def test_failed_preview_keeps_its_section(
    capsys: pytest.CaptureFixture[str], logs: dict[str, Path], tmp_path: Path
) -> None:
    missing = tmp_path / "never-written.jsonl"
    md = _run(
        capsys,
        "--stack",
        f"staging={logs['model-update']}",
        "--stack",
        f"prod-azure={logs['failed']}",
        "--stack",
        f"prod={missing}",
    )
    azure = _section(md, "prod-azure")
    assert ":x: preview failed" in azure
    assert 'Code="QuotaExceeded"' in azure
    assert "standardNCADSA100v4Family" in azure
    assert "<{%" not in azure  # the CLI's colour tags are stripped
    assert "(steps planned before the preview stopped)" in azure
    assert "max nodes `4` → `6`" in azure
    prod = _section(md, "prod")
    assert ":x: preview failed" in prod
    assert "the preview did not run" in prod
    assert ":large_orange_diamond: changes" in _section(md, "staging")


def test_a_step_op_the_sdk_lacks_is_reported_not_fatal(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # OpType raises on an op it lacks (e.g. the engine's "diff" or "extend-parameterize", which
    # pkg/resource/deploy/step.go has and this SDK does not): that line is said, the log is read.
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"sequence": 0, "resourcePreEvent": {"metadata": {"op": "explode"}}}) + "\n")
    p = load("x", bad)
    assert p.problems == ["line 1: step op 'explode' is newer than this reader; shown as it is"]
    assert [c.op for c in p.changes] == ["explode"]
    section = _section(_run(capsys, "--stack", f"x={bad}"), "x")
    assert ":x: preview failed" in section  # no summary event: the preview did not finish
    assert "the log ends without the engine's summary" in section
    assert "step op 'explode' is newer than this reader" in section


def test_two_thousand_resources_stay_under_the_limit(capsys: pytest.CaptureFixture[str], logs: dict[str, Path]) -> None:
    url = "https://github.com/acme/models/actions/runs/42"
    md = _run(capsys, "--stack", f"prod={logs['large']}", "--details-url", url)
    assert len(md) < MAX_COMMENT_CHARS
    assert len(load("prod", logs["large"]).changes) == 2000
    section = _section(md, "prod")
    assert "create **974** · update **985** · replace **0** · delete **40** · same **1**" in section
    assert "**delete** S3 bucket `prod-archive-039`" in section  # all 40 warnings fit
    assert "| `model-11` | update |" in section  # the models table is not crowded out
    assert re.search(
        r"… and \d+ resources not shown here; full diff: \[job summary and artifacts\]\(" + re.escape(url), section
    )


def test_many_stacks_still_fit(capsys: pytest.CaptureFixture[str], logs: dict[str, Path]) -> None:
    args = [a for i in range(6) for a in ("--stack", f"prod-{i}={logs['large']}")]
    md = _run(capsys, *args)
    assert len(md) < MAX_COMMENT_CHARS
    for i in range(6):
        assert f"### Stack `prod-{i}`" in md


def test_stack_argument_is_validated() -> None:
    with pytest.raises(SystemExit):
        preview_comment.main(["--stack", "no-equals-sign"])


def test_release_mig_and_protected_changes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from pulumi.automation.events import OpType

    from tests.triton_platform.preview.fixtures import MV, RELEASE, Log, model_inputs, model_outputs, write_log

    log = Log("prod")
    log.stack_same()
    old = model_inputs(fingerprint=SHA_A, ngc_release="25.01", ccs=("8.0", "9.0"))
    new = model_inputs(fingerprint=SHA_A, ngc_release="25.03", ccs=("8.0", "9.0"))
    log.step(
        OpType.UPDATE,
        MV,
        "prod-resnet50",
        old=old,
        new=new,
        old_outputs=model_outputs(old, 4),
        diffs=["ngc_release", "tensorrt_version"],
        pkg="pulumi-python",
    )
    op_old = {
        "chart": "gpu-operator",
        "version": "v24.9.2",
        "values": {"mig": {"strategy": "single"}, "migManager": {"config": {"default": "all-1g.5gb"}}},
    }
    op_new = {
        "chart": "gpu-operator",
        "version": "v25.3.0",
        "values": {"mig": {"strategy": "mixed"}, "migManager": {"config": {"default": "all-2g.10gb"}}},
    }
    log.step(
        OpType.UPDATE,
        RELEASE,
        "prod-gpu-operator",
        old=op_old,
        new=op_new,
        diffs=["version", "values"],
        pkg="kubernetes",
    )
    pool = {"instanceTypes": ["p4d.24xlarge"], "labels": {"nvidia.com/mig.config": "all-1g.5gb"}}
    log.step(
        OpType.UPDATE,
        "aws:eks/nodeGroup:NodeGroup",
        "prod-gpu",
        old=pool,
        new={**pool, "labels": {"nvidia.com/mig.config": "all-2g.10gb"}},
        diffs=["labels"],
    )
    log.step(
        OpType.DELETE,
        "random:index/randomId:RandomId",
        "prod-suffix",
        old={"byteLength": 4},
        protect=True,
        pkg="random",
    )
    log.summary({"same": 1, "update": 3, "delete": 1})
    path = write_log(tmp_path / "prod.jsonl", log.events)
    section = _section(_run(capsys, "--stack", f"prod={path}"), "prod")
    row = next(line for line in section.splitlines() if line.startswith("| `resnet50`"))
    assert "Triton release `25.01` → `25.03`" in row
    assert "TensorRT `10.8.0` → `10.9.0`" in row
    # A new TensorRT changes every engine key: both architectures are built again.
    assert "cc `8.0`, cc `9.0` with TensorRT `10.9.0`" in row
    assert "| v4 |" in row
    assert "chart version `v24.9.2` → `v25.3.0`" in section
    assert "MIG strategy `single` → `mixed`" in section
    assert "MIG layout `all-1g.5gb` → `all-2g.10gb`" in section
    assert "**delete** `random:index/randomId:RandomId` `prod-suffix`" in section
    assert "**protected**" in section
