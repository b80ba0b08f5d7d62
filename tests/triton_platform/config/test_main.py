"""``python -m triton_platform.config``: stack files checked as ``pulumi up`` checks them, without Pulumi.

Every test runs the command as a user does (a subprocess), on the repository's own stack files
and on broken copies in tmp_path; none may print a traceback. What a stack file holds is
Pulumi's own format (pulumi/pulumi sdk/go/common/resource/config: keys ``<namespace>:<name>``,
structured values as YAML objects, secrets as ``{secure: ...}``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.stacks import REPO

STACK_FILES = sorted(REPO.glob("Pulumi.*.yaml"))


def validate(*files: Path | str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "triton_platform.config", *map(str, files)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done


def messages(stderr: str, files: list[Path]) -> dict[str, str]:
    """Each file's message on stderr (from ``<path>: `` to the next file's)."""
    starts = sorted((stderr.index(f"{f}: "), f.name) for f in files)
    assert len(starts) == len(files), stderr
    ends = [s for s, _ in starts[1:]] + [len(stderr)]
    return {name: stderr[start:end] for (start, name), end in zip(starts, ends, strict=True)}


def stack_copy(source: str) -> dict:
    """A repository stack file's content, with model sources made absolute (the copy lives elsewhere)."""
    doc = yaml.safe_load((REPO / f"Pulumi.{source}.yaml").read_text())
    for model in doc["config"].get("triton-platform:models", []):
        model["source"] = str(REPO / model["source"])
    return doc


def write(tmp_path: Path, name: str, doc: object) -> Path:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def test_every_stack_file_of_the_repository_passes(samples_built: Path) -> None:
    assert len(STACK_FILES) >= 4, STACK_FILES
    done = validate(*STACK_FILES)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(f) for f in STACK_FILES], done.stdout
    assert all(": ok (stack '" in line for line in lines), done.stdout


def test_a_bad_file_fails_and_the_good_ones_still_say_ok(samples_built: Path, tmp_path: Path) -> None:
    doc = stack_copy("dev")
    doc["config"]["triton-platform:triton"]["replicas"] = 0
    bad = write(tmp_path, "bad", doc)
    done = validate(REPO / "Pulumi.dev.yaml", bad)
    assert done.returncode == 1
    assert done.stdout.startswith(f"{REPO / 'Pulumi.dev.yaml'}: ok (stack 'dev', cloud 'local')"), done.stdout
    # The message pulumi up prints (a RunError of the same text), prefixed with the file.
    assert f"{bad}: invalid configuration of stack 'bad' (1 problem):\n  - triton-platform:triton.replicas:" in (
        done.stderr
    )


def test_five_mistakes_in_a_stack_file_are_one_message(samples_built: Path, tmp_path: Path) -> None:
    doc = stack_copy("dev")
    config = doc["config"]
    config["triton-platform:cluster"]["kubernetesVersion"] = "UNQUOTED"
    config["triton-platform:triton"]["replica"] = config["triton-platform:triton"].pop("replicas", 1)
    config["triton-platform:triton"]["version"] = "99.99"
    config["triton-platform:monitoring"]["enabled"] = "maybe"
    config["triton-platform:models"][0]["source"] = str(REPO / "samples/sample-mlp")
    text = yaml.safe_dump(doc, sort_keys=False).replace("kubernetesVersion: UNQUOTED", "kubernetesVersion: 1.30")
    done = validate(write(tmp_path, "five", text))
    assert done.returncode == 1
    assert "invalid configuration of stack 'five' (5 problems):" in done.stderr, done.stderr
    for words in (
        "triton-platform:cluster.kubernetesVersion: YAML read this unquoted value as the number 1.3",
        "triton-platform:triton.replica: unknown key; did you mean `replicas`?",
        "triton-platform:triton.version: unknown NGC release '99.99'",
        "triton-platform:monitoring.enabled: Input should be a valid boolean",
        "triton-platform:models[0].source: ",
    ):
        assert words in done.stderr, done.stderr
    assert "is a directory, not an ONNX file" in done.stderr


def test_provider_keys_are_read_from_the_file(samples_built: Path, tmp_path: Path) -> None:
    # aws:region is the default of cluster.region (triton_platform.config.providers): left out, it
    # comes from the provider key; given both, they must agree.
    doc = stack_copy("prod")
    del doc["config"]["triton-platform:cluster"]["region"]
    doc["config"]["aws:region"] = "eu-west-1"
    from_provider = write(tmp_path, "fromprovider", doc)
    doc["config"]["triton-platform:cluster"]["region"] = "us-east-1"
    disagree = write(tmp_path, "disagree", doc)
    del doc["config"]["aws:region"]
    del doc["config"]["triton-platform:cluster"]["region"]
    missing = write(tmp_path, "noregion", doc)
    done = validate(from_provider, disagree, missing)
    assert done.stdout.startswith(f"{from_provider}: ok"), done.stdout + done.stderr
    found = messages(done.stderr, [disagree, missing])
    assert "differs from the provider setting aws:region = 'eu-west-1'" in found[disagree.name]
    assert "required for cloud 'aws' (or set the provider's aws:region)" in found[missing.name]


def test_secure_values_count_as_present_and_are_never_printed(samples_built: Path, tmp_path: Path) -> None:
    # Pulumi decrypts {secure: ...} for the program; here it cannot: the key counts as given, and
    # what only its plaintext could show (gcp:project's form, a number in triton.replicas) is left to pulumi up.
    doc = stack_copy("staging")
    del doc["config"]["triton-platform:cluster"]["project"]
    doc["config"]["gcp:project"] = {"secure": "v1:c2VjcmV0LXByb2plY3Q="}
    doc["config"]["triton-platform:triton"]["replicas"] = {"secure": "v1:cmVwbGljYXM="}
    ok = write(tmp_path, "secret", doc)
    doc["config"]["triton-platform:triton"]["version"] = "99.99"
    bad = write(tmp_path, "secretbad", doc)
    done = validate(ok, bad)
    assert (
        done.stdout
        == f"{ok}: ok (stack 'secret', cloud 'gcp'; 2 secret value(s) present, checked by `pulumi up` only)\n"
    )
    assert "(1 problem):\n  - triton-platform:triton.version: unknown NGC release '99.99'" in done.stderr, done.stderr
    for shown in (done.stdout, done.stderr):
        assert "v1:" not in shown, shown
        assert "[secret]" not in shown, shown


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "no such file"),
        ("config: [\n", "is not valid YAML: "),
        ("config:\n  triton-platform:cloud: local\n  triton-platform:cloud: aws\n", "appears twice"),
        ("encryptionsalt: v1:abc\n", "has no `config:` block"),
        ("", "has no `config:` block"),
        ("- a\n- b\n", "has no `config:` block"),
        ("config: [a, b]\n", "`config:` must be a mapping"),
        ("config:\n  cloud: local\n", "did you mean `triton-platform:cloud`?"),
        (b"\xff\xfeconfig", "is not UTF-8 text"),
    ],
)
def test_a_file_pulumi_could_not_load_is_a_clear_message(
    tmp_path: Path, content: str | bytes | None, words: str
) -> None:
    path = tmp_path / "Pulumi.broken.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    done = validate(path)
    assert done.returncode == 1
    assert done.stderr.startswith(f"{path}: "), done.stderr
    assert words in done.stderr, done.stderr
    assert done.stdout == ""


def test_the_command_loads_no_pulumi(samples_built: Path) -> None:
    code = (
        "import sys; from triton_platform.config.__main__ import main; "
        f"assert main([{str(REPO / 'Pulumi.dev.yaml')!r}]) == 0; "
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('pulumi')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
