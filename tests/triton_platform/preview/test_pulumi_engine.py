"""The comment read against event logs Pulumi's own engine tests recorded (pulumi_engine/README.md).

Sources, github.com/pulumi/pulumi at 1b5949891b3cefcb9974752b24a5ecef0acc86c8:
pkg/engine/lifecycletest/testdata/output/**/eventstream.json and
pkg/backend/display/testdata/not-truncated/*.json, converted to `--event-log` lines by
pulumi_engine/convert.py (the file next to each test names its source in convert.SOURCES).
The rules checked are the engine's: what the summary counts is pkg/engine/update.go
(OnResourceStepPost, shouldRecordReadStep), what is a change is engine.HasChanges, which steps
are logical is Step.Logical() in pkg/resource/deploy/step.go.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pulumi.automation.events import OpType

from tests.triton_platform.preview.fixtures import Log, write_log
from tests.triton_platform.preview.pulumi_engine.convert import SOURCES
from triton_platform.preview.comment import build
from triton_platform.preview.events import NO_CHANGE_OPS, STACK_TYPE, load
from triton_platform.preview.render import MAX_COMMENT_CHARS, code, status

DATA = Path(__file__).resolve().parent / "pulumi_engine"
LOGS = sorted(DATA.glob("*.jsonl"))


def _comment(name: str, path: Path | None = None) -> str:
    return build([(name, str(path or DATA / f"{name}.jsonl"))])


def _row(c_op: str, type_: str, name: str) -> str:
    return f"| {c_op} | {code(type_)} | {code(name)} |"


def test_every_source_is_converted() -> None:
    assert sorted(p.stem for p in LOGS) == sorted(SOURCES)


@pytest.mark.parametrize("path", LOGS, ids=lambda p: p.stem)
def test_every_summary_op_counted_every_change_listed(path: Path) -> None:
    p = load(path.stem, path)
    md = _comment(path.stem, path)
    assert not p.problems
    assert not p.unreadable
    assert p.summary is not None
    summary = {op: n for op, n in p.counts().items() if n}
    # The steps, folded by the engine's rules, give the engine's own counts.
    assert p.counted_from_steps() == summary
    for op, n in summary.items():
        assert f"{op} **{n}**" in md
    # "no changes" exactly when engine.HasChanges says so.
    has_changes = any(n for op, n in summary.items() if op not in NO_CHANGE_OPS)
    assert (":white_check_mark: no changes" in md) == (not has_changes and not p.failed and not p.blocked_by_policy)
    for c in p.changes:
        if c.is_change and c.type != STACK_TYPE:
            assert f"| {code(c.type)} | {code(c.name)} |" in md, (c.op, c.name)
        if c.op in ("delete", "replace", "delete-replaced") and (c.protected() or c.retained()):
            assert f":warning: **{c.op}** {code(c.type)} {code(c.name)}" in md
    if p.blocked_by_policy:
        assert "**Policy violations**" in md
    elif p.failed:
        assert "**Errors**" in md, "a failed preview says why"
        assert md.split("**Errors**", 1)[1].lstrip().startswith("- ")


def test_an_import_is_a_change() -> None:
    # TestRefreshBeforeUpdate/-0-5-preview: summary {"import": 1, "same": 2}.
    md = _comment("import-only-preview")
    assert ":large_orange_diamond: changes" in md
    assert "create **0** · update **0** · replace **0** · delete **0** · same **2** · import **1**" in md
    assert "| `import-only-preview` | :large_orange_diamond: changes | 0 | 0 | 0 | 0 | 0 | 2 | import 1 |" in md
    assert _row("= import", "pkgA:m:typA", "resB") in md
    both = _comment("import-and-replace-preview")  # one URN imported, then replaced
    assert _row("= import", "pkgA:m:typA", "resB") in both
    assert _row("+- replace", "pkgA:m:typA", "resB") in both


def test_discard_and_read_are_counted_but_change_nothing() -> None:
    discard = _comment("discard-preview")  # TestStackReference/-4-0-preview: {"discard": 1}
    assert ":white_check_mark: no changes" in discard
    assert "same **0** · discard **1**" in discard
    assert "**All changes**" not in discard
    read = _comment("read-update")  # TestStackReference/-0-1: {"read": 1}
    assert ":white_check_mark: no changes" in read
    assert "same **0** · read **1**" in read
    assert "| read 1 |" in read


@pytest.mark.parametrize("name", ["preview-refresh-update", "preview-refresh-program"])
def test_a_refresh_step_does_not_decide_the_change(name: str) -> None:
    # `pulumi preview --refresh`: a refresh step of resA, then its update step.
    p = load(name, DATA / f"{name}.jsonl")
    (change,) = [c for c in p.changes if c.name == "resA"]
    assert change.op == "update"
    assert change.step_ops == ["update", "refresh"]  # the update decides; the refresh is kept with it
    md = _comment(name)
    assert _row("~ update", "pkgA:m:typA", "resA") in md
    assert ":large_orange_diamond: changes" in md


def test_refresh_results_are_the_outputs_events_op() -> None:
    # TestRefreshBasics/0-0-0-preview: three refresh steps run in parallel; their outputs events
    # carry the results (same, same, update), which the summary counts.
    p = load("r", DATA / "refresh-results-preview.jsonl")
    assert sorted(c.op for c in p.changes) == ["same", "same", "update"]
    assert all(c.refresh_result for c in p.changes)
    assert p.counted_from_steps() == {"same": 2, "update": 1}


def test_a_delete_after_a_same_step_is_not_missed() -> None:
    # TestDestroyWithProgram/1: resA is `same` (the program ran), then deleted.
    p = load("d", DATA / "same-then-delete.jsonl")
    assert [(c.name, c.op) for c in p.changes] == [("resA", "same"), ("resA", "delete"), ("resB", "delete")]
    md = _comment("same-then-delete")
    assert _row("- delete", "pkgA:m:typA", "resA") in md
    assert _row("- delete", "pkgA:m:typA", "resB") in md


def test_a_delete_after_a_same_step_is_warned(tmp_path: Path) -> None:
    # The same recorded stream, its resources renamed to S3 buckets: the destructive change is warned.
    text = (DATA / "same-then-delete.jsonl").read_text().replace("pkgA:m:typA", "aws:s3/bucket:Bucket")
    (tmp_path / "b.jsonl").write_text(text)
    md = _comment("b", tmp_path / "b.jsonl")
    assert "- :warning: **delete** S3 bucket `resA`: it is deleted with every model in it" in md
    assert "- :warning: **delete** S3 bucket `resB`" in md


def test_an_aliased_replace_shows_once(tmp_path: Path) -> None:
    # TestAliases/t7-n5-0-0-preview: delete-replaced under the old URN (t6::n4), replace and
    # create-replacement under the new one (t7::n5, whose `old` is t6::n4). One replacement.
    p = load("a", DATA / "aliased-replace-preview.jsonl")
    assert [(c.name, c.op) for c in p.changes] == [("n5", "replace")]
    md = _comment("aliased-replace-preview")
    assert md.count("+- replace") == 1
    assert "`n4`" not in md
    text = (DATA / "aliased-replace-preview.jsonl").read_text()
    text = text.replace("pkgA:index:t6", "aws:s3/bucket:Bucket").replace("pkgA:index:t7", "aws:s3/bucket:Bucket")
    (tmp_path / "b.jsonl").write_text(text)
    bucket = _comment("b", tmp_path / "b.jsonl")
    assert bucket.count(":warning: **replace** S3 bucket") == 1


def test_a_failure_without_a_diagnostic_says_what_is_known() -> None:
    # display testdata failed-stacks-dont-rewrite-operations.json: a resOpFailedEvent (status 2)
    # for test-x and not one error diagnostic in the log.
    md = _comment("failed-without-diagnostic")
    assert ":x: preview failed" in md
    assert (
        "- the engine reports the update of pulumi-python:dynamic:Resource 'test-x' as failed"
        " (status 2: state unknown) and logged no error message for it"
    ) in md
    assert _row("~ update :x: failed", "pulumi-python:dynamic:Resource", "test-x") in md


def test_a_failure_with_its_diagnostic_shows_the_diagnostic() -> None:
    # TestImportPlanExistingImport/1: the import of resA fails with "already exists".
    md = _comment("failed-import")
    assert "already exists" in md
    assert "logged no error message" not in md
    assert _row("= import :x: failed", "pkgA:m:typA", "resA") in md
    # A preview's failed steps have an error diagnostic and no outputs event (TestMultipleProtectedDeletes/1).
    p = load("p", DATA / "protected-deletes-preview.jsonl")
    assert [c.failed for c in p.changes if c.op == "delete"] == [True, True]
    assert p.counted_from_steps() == {"same": 1}


def test_a_policy_failure_is_explained_by_its_violation() -> None:
    p = load("p", DATA / "policy-mandatory.jsonl")
    assert status(p) == ":no_entry: blocked by policy"
    assert "- :no_entry: **mandatory** `always-fails` on `resA`: a policy failed" in _comment("policy-mandatory")


def test_one_bad_line_or_unknown_op_keeps_the_rest(tmp_path: Path) -> None:
    lines = (DATA / "import-only-preview.jsonl").read_text().splitlines()
    step = json.loads(lines[1])
    step["resourcePreEvent"]["metadata"]["op"] = "diff"  # an op deploy.StepOps has, this SDK's OpType not
    step["resourcePreEvent"]["metadata"]["urn"] = step["resourcePreEvent"]["metadata"]["urn"].replace("::test", "::t2")
    step["sequence"] = 100
    cut = lines[2][: len(lines[2]) // 2]  # a line cut short (the runner was killed mid-write)
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join([*lines[:2], cut, "not json at all", json.dumps(step), *lines[2:]]) + "\n")
    p = load("s", log)
    assert p.problems[0].startswith("line 3: not JSON")
    assert p.problems[1].startswith("line 4: not JSON")
    assert p.problems[2] == "line 5: step op 'diff' is newer than this reader; shown as it is"
    md = _comment("s", log)
    assert "**Event log lines not read** (the rest of the log was)" in md
    assert "import **1**" in md  # the summary is still read
    assert _row("= import", "pkgA:m:typA", "resB") in md
    assert _row("? diff", STACK_TYPE, "t2") not in md  # the stack resource stays out of the table
    assert ":large_orange_diamond: changes" in md


def test_warnings_and_errors_are_the_last_things_cut(tmp_path: Path) -> None:
    log = Log("prod")
    log.stack_same()
    for i in range(250):
        log.step(
            OpType.DELETE,
            "aws:s3/bucket:Bucket",
            f"prod-archive-{i:03d}",
            old={"bucket": f"archive-{i}"},
        )
    for i in range(1500):
        log.step(
            OpType.UPDATE,
            "kubernetes:core/v1:ConfigMap",
            f"prod-dashboard-{i:04d}",
            old={"data": {}},
            new={"data": {}},
            diffs=["data"],
            pkg="kubernetes",
        )
    for i in range(6):
        log.diagnostic(f"error {i}: " + "quota exceeded in us-east-1; " * 40, "error")
    log.summary({"same": 1, "delete": 250, "update": 1500})
    md = build([("prod", str(write_log(tmp_path / "prod.jsonl", log.events)))])
    assert len(md) < MAX_COMMENT_CHARS
    for i in range(250):
        assert f"**delete** S3 bucket `prod-archive-{i:03d}`" in md
    for i in range(6):
        assert f"error {i}: quota exceeded" in md
    assert "warnings not shown" not in md
    assert "errors not shown" not in md
    assert re.search(r"… and \d+ resources not shown here", md)  # the table is what gave way
