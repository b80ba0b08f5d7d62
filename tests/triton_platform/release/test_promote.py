"""``python -m triton_platform.release`` end to end, against a fake ``pulumi`` executable on PATH.

There is no Pulumi CLI here: the test writes a small ``pulumi`` script (a test double of the
external CLI) that prints fixed ``pulumi stack output --json`` documents per stack and records
every other command. The command itself runs for real, as a subprocess, on a copy of the
repository's Pulumi.staging.yaml.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.stacks import REPO
from triton_platform.release.manifest import Release, manifest_from_published

SOURCE = "acme/triton-platform/dev"
FAKE_PULUMI = """#!{python}
import json, os, sys
root = os.environ["FAKE_PULUMI_DIR"]
# --non-interactive: a global flag (the Automation API passes it first).
args = [a for a in sys.argv[1:] if a != "--non-interactive"]
with open(os.path.join(root, "calls.log"), "a") as log:
    log.write(json.dumps(args) + "\\n")
if args == ["version"]:
    sys.stdout.write("v3.200.0\\n")
    sys.exit(0)
if args[:3] == ["stack", "output", "--json"]:
    stack = args[args.index("--stack") + 1]
    path = os.path.join(root, "outputs", stack.replace("/", "__") + ".json")
    if not os.path.exists(path):
        sys.stderr.write("error: no stack named '%s' found\\n" % stack)
        sys.exit(255)
    sys.stdout.write(open(path).read())
    sys.exit(0)
sys.exit(0)
"""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _release(version: int) -> Release:
    published = {
        "spec": {"name": "sample-mlp", "format": "onnx"},
        "version": version,
        "source_fingerprint": _sha(f"onnx {version}"),
        "config_sha256": _sha(f"config {version}"),
        "files": [{"path": "model.onnx", "size": 1, "sha256": _sha(f"onnx {version}")}],
        "engine_objects": {},
        "tensorrt_version": "10.8.0",
    }
    return Release.of(manifest_from_published("25.01", [published]), {"kind": "s3", "bucket": "acme-dev-models"})


class FakePulumi:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "bin").mkdir(parents=True)
        (root / "outputs").mkdir()
        script = root / "bin" / "pulumi"
        script.write_text(FAKE_PULUMI.format(python=sys.executable))
        script.chmod(0o755)

    def stack_outputs(self, stack: str, outputs: dict[str, Any]) -> None:
        (self.root / "outputs" / (stack.replace("/", "__") + ".json")).write_text(json.dumps(outputs))

    def calls(self) -> list[list[str]]:
        log = self.root / "calls.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "FAKE_PULUMI_DIR": str(self.root),
        }


@pytest.fixture
def fake(tmp_path: Path) -> FakePulumi:
    return FakePulumi(tmp_path / "fake")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(REPO / "Pulumi.yaml", work / "Pulumi.yaml")
    shutil.copy(REPO / "Pulumi.staging.yaml", work / "Pulumi.staging.yaml")
    return work


def _promote(fake: FakePulumi, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "triton_platform.release.promote", "--cwd", str(project), *args],
        cwd=REPO,
        env=fake.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def test_promote_pins_the_digest_keeping_comments_and_key_order(fake: FakePulumi, project: Path) -> None:
    release = _release(3)
    fake.stack_outputs(SOURCE, {"release": release.to_output(), "clusterName": "dev"})
    fake.stack_outputs("staging", {})  # a stack that exports no release yet
    before = (project / "Pulumi.staging.yaml").read_text()
    result = _promote(fake, project, "--from", SOURCE, "--to", "staging")
    assert result.returncode == 0, result.stderr
    after = (project / "Pulumi.staging.yaml").read_text()

    old, new = yaml.safe_load(before)["config"], yaml.safe_load(after)["config"]
    assert new["triton-platform:release"] == {"fromStack": SOURCE, "digest": release.digest}
    assert "triton-platform:models" not in new
    # Every other key unchanged and in its order; the release key last.
    kept = [k for k in old if k != "triton-platform:models"]
    assert list(new) == [*kept, "triton-platform:release"]
    assert all(new[k] == old[k] for k in kept)
    # Every comment outside the removed models block is still there, in order.
    models_block = yaml.safe_load(before)["config"]["triton-platform:models"]
    assert models_block
    lines_before = before.splitlines()
    start = lines_before.index("  triton-platform:models:")
    end = next(
        (i for i in range(start + 1, len(lines_before)) if lines_before[i].startswith("  triton-platform:")),
        len(lines_before),
    )
    assert _comments(after) == _comments("\n".join(lines_before[:start] + lines_before[end:]))
    # What the reviewer sees: the diff, the note and the change the target would serve.
    assert f"+    digest: {release.digest}" in result.stdout
    assert "removed triton-platform:models" in result.stdout
    assert "release: (none) -> " + release.digest in result.stdout
    assert "+ sample-mlp v3 (onnx)" in result.stdout
    assert "pull request" in result.stdout
    # Without --yes nothing is deployed.
    assert [c[0] for c in fake.calls()] == ["stack", "stack"]

    # The next release: a one-line digest change, shown with the model's new version.
    newer = _release(4)
    fake.stack_outputs(SOURCE, {"release": newer.to_output()})
    fake.stack_outputs("staging", {"release": release.to_output()})
    again = _promote(fake, project, "--from", SOURCE, "--to", "staging", "--yes")
    assert again.returncode == 0, again.stderr
    diff = [line for line in again.stdout.splitlines() if line[:1] in ("+", "-") and line[:3] not in ("+++", "---")]
    assert diff == [f"-    digest: {release.digest}", f"+    digest: {newer.digest}"]
    assert "~ sample-mlp v3 -> v4" in again.stdout
    assert fake.calls()[-1] == ["up", "--stack", "staging", "--yes"]
    assert (project / "Pulumi.staging.yaml").read_text() == after.replace(release.digest, newer.digest)


def test_rollback_pins_an_older_digest_the_source_keeps(fake: FakePulumi, project: Path) -> None:
    old, new = _release(3), _release(4)
    history = [{"digest": new.digest, "promotedAt": "t2"}, {"digest": old.digest, "promotedAt": "t1"}]
    fake.stack_outputs(SOURCE, {"release": new.to_output(), "releaseHistory": history})
    fake.stack_outputs("staging", {"release": new.to_output()})
    result = _promote(fake, project, "--from", SOURCE, "--to", "staging", "--digest", old.digest)
    assert result.returncode == 0, result.stderr
    pinned = yaml.safe_load((project / "Pulumi.staging.yaml").read_text())["config"]["triton-platform:release"]
    assert pinned == {"fromStack": SOURCE, "digest": old.digest}
    assert "rollback" in result.stdout

    unknown = "sha256:" + "1" * 64
    refused = _promote(fake, project, "--from", SOURCE, "--to", "staging", "--digest", unknown)
    assert refused.returncode == 2
    assert "neither exports nor keeps" in refused.stderr


def test_the_automation_api_reads_the_same_outputs(fake: FakePulumi, project: Path) -> None:
    release = _release(5)
    fake.stack_outputs(SOURCE, {"release": release.to_output()})
    fake.stack_outputs("staging", {"clusterName": "staging"})
    result = _promote(fake, project, "--from", SOURCE, "--to", "staging", "--via", "automation")
    assert result.returncode == 0, result.stderr
    pinned = yaml.safe_load((project / "Pulumi.staging.yaml").read_text())["config"]["triton-platform:release"]
    assert pinned == {"fromStack": SOURCE, "digest": release.digest}
    # LocalWorkspace selected the stack and read its outputs through the CLI.
    assert ["stack", "select", "--stack", SOURCE] in fake.calls()
    # The target exports no release yet (it published its own models): "(none)".
    assert "release: (none) -> " + release.digest in result.stdout
    assert ["stack", "output", "--json", "--show-secrets", "--stack", SOURCE] in fake.calls()


@pytest.mark.parametrize(
    ("args", "outputs", "message"),
    [
        (["--from", "dev", "--to", "staging"], None, "fully qualified stack name"),
        (["--from", SOURCE, "--to", "staging"], {"clusterName": "dev"}, "exports no `release` output"),
        (["--from", SOURCE, "--to", "staging"], "missing", "no stack named"),
    ],
)
def test_errors_say_what_to_do(fake: FakePulumi, project: Path, args: list[str], outputs: Any, message: str) -> None:
    if isinstance(outputs, dict):
        fake.stack_outputs(SOURCE, outputs)
    before = (project / "Pulumi.staging.yaml").read_text()
    result = _promote(fake, project, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert (project / "Pulumi.staging.yaml").read_text() == before


# --------------------------------------------------------------------------- a user's mistakes

ENTRY_POINTS = ["triton_platform.release", "triton_platform.promote"]


def _run_module(module: str, env: dict[str, str], project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, "--cwd", str(project), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _files(project: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(project.iterdir())}


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_a_target_without_a_stack_file_is_refused_and_no_file_is_created(
    fake: FakePulumi, project: Path, module: str
) -> None:
    fake.stack_outputs(SOURCE, {"release": _release(3).to_output()})
    fake.stack_outputs("stagign", {})
    before = _files(project)
    result = _run_module(module, fake.env(), project, "--from", SOURCE, "--to", "stagign")
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert "Pulumi.stagign.yaml" in result.stderr
    assert "the stacks here: staging" in result.stderr  # the existing stacks, to pick the right one
    assert _files(project) == before
    assert fake.calls() == []  # refused before reading any output


@pytest.mark.parametrize("module", ENTRY_POINTS)
@pytest.mark.parametrize("via", ["cli", "automation"])
def test_without_the_pulumi_cli_the_command_says_what_to_install(
    tmp_path: Path, project: Path, module: str, via: str
) -> None:
    # PATH holds the interpreter's directory only: no `pulumi` anywhere.
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    env = {**os.environ, "PATH": str(bare)}
    before = _files(project)
    result = _run_module(module, env, project, "--from", SOURCE, "--to", "staging", "--via", via)
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert "Pulumi CLI (`pulumi`) is not on PATH" in result.stderr
    assert "https://www.pulumi.com/docs/install/" in result.stderr
    assert _files(project) == before


@pytest.mark.parametrize("module", ENTRY_POINTS)
@pytest.mark.parametrize("via", ["cli", "automation"])
def test_unreadable_target_outputs_are_an_error_not_none(
    fake: FakePulumi, project: Path, module: str, via: str
) -> None:
    fake.stack_outputs(SOURCE, {"release": _release(3).to_output()})
    # No outputs recorded for staging: the stand-in answers "no stack named 'staging' found", exit 255.
    before = _files(project)
    result = _run_module(module, fake.env(), project, "--from", SOURCE, "--to", "staging", "--via", via)
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert "(none)" not in result.stdout
    assert "staging" in result.stderr
    assert "no stack named" in result.stderr
    assert _files(project) == before


@pytest.mark.parametrize("module", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "dev", "--to", "staging"], "fully qualified stack name"),
        (["--from", SOURCE, "--to", "a b"], "is not a stack name"),
        (["--from", SOURCE], "--to"),  # argparse: a missing argument, with the usage
        (["--from", SOURCE, "--to", "staging", "--via", "ssh"], "invalid choice"),
    ],
)
def test_no_traceback_for_a_bad_command_line(
    fake: FakePulumi, project: Path, module: str, args: list[str], message: str
) -> None:
    result = _run_module(module, fake.env(), project, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_a_stack_file_that_is_not_yaml_is_an_error(fake: FakePulumi, project: Path, module: str) -> None:
    fake.stack_outputs(SOURCE, {"release": _release(3).to_output()})
    fake.stack_outputs("staging", {})
    (project / "Pulumi.staging.yaml").write_text("config:\n  a: [unclosed\n")
    result = _run_module(module, fake.env(), project, "--from", SOURCE, "--to", "staging")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "not valid YAML" in result.stderr
    missing_cwd = _run_module(module, fake.env(), project / "nowhere", "--from", SOURCE, "--to", "staging")
    assert missing_cwd.returncode == 2
    assert "Traceback" not in missing_cwd.stderr
    assert "is not a directory" in missing_cwd.stderr
