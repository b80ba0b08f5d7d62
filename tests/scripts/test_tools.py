"""scripts/tools.sh and scripts/tools.lock: the pinned kind, Pulumi CLI, helm and kubectl.

Run in a sandbox (tests/support/script_sandbox.py) with stand-in tools, curl and uname: a tool
found new enough is used; a missing or too old one is installed from its official URL only when
the download's sha256 equals the pin; a pin without a sha256 is refused, never installed
unverified; every missing tool is named at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.script_sandbox import REPO, Sandbox, executable, sha256, tool_archive

LOCK = REPO / "scripts" / "tools.lock"
TOOLS = ("kind", "pulumi", "helm", "kubectl")
PLATFORMS = ("linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64")
# The projects' own download hosts (release archives, never a mirror).
OFFICIAL = {
    "kind": "https://github.com/kubernetes-sigs/kind/releases/download/",
    "kubectl": "https://dl.k8s.io/release/",
    "helm": "https://get.helm.sh/",
    "pulumi": "https://get.pulumi.com/releases/sdk/",
}


def _rows() -> list[list[str]]:
    rows = [line.split() for line in LOCK.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert rows
    return rows


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    sandbox = Sandbox(tmp_path)
    sandbox.uname("Linux", "x86_64")
    return sandbox


# --- the lock file -----------------------------------------------------------------------------


def test_every_tool_is_pinned_for_every_platform_from_its_official_url() -> None:
    rows = _rows()
    assert sorted((r[0], r[3]) for r in rows) == sorted((t, p) for t in TOOLS for p in PLATFORMS)
    for tool, version, minimum, _platform, archive, sha, url in rows:
        assert url.startswith(OFFICIAL[tool]), url
        assert f"v{version}" in url, (tool, url)
        assert _version(minimum) <= _version(version), tool
        assert sha == "-" or re.fullmatch(r"[0-9a-f]{64}", sha), (tool, sha)
        assert archive == "binary" or archive.startswith("tar.gz:"), archive
    # Most pins carry their checksum; the missing ones are named in the file's header.
    assert sum(r[5] != "-" for r in rows) >= 11


def test_the_pulumi_cli_is_the_release_of_the_sdk_and_of_ci() -> None:
    pulumi_versions = {r[1] for r in _rows() if r[0] == "pulumi"}
    sdk = re.search(r"^pulumi==(\S+)$", (REPO / "requirements.txt").read_text(), re.MULTILINE)
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "preview.yml").read_text())
    ci = [
        s["with"]["pulumi-version"]
        for s in workflow["jobs"]["preview"]["steps"]
        if "pulumi/actions" in s.get("uses", "")
    ]
    assert sdk
    assert pulumi_versions == {sdk.group(1)} == set(ci)


def test_a_missing_sha256_is_explained_in_the_lock_file() -> None:
    missing = [r for r in _rows() if r[5] == "-"]
    header = LOCK.read_text().split("\n# tool")[0]
    assert missing
    for tool, version, *_ in missing:
        assert tool in header, tool
        assert version in header, (tool, version)


# --- check / preflight ---------------------------------------------------------------------------


def test_check_passes_when_every_tool_is_new_enough(box: Sandbox) -> None:
    box.good_tools()
    result = box.run("bash", "scripts/tools.sh", "check", *TOOLS)
    assert result.returncode == 0, result.stderr
    assert box.calls("curl") == []


def test_check_names_every_missing_or_too_old_tool_at_once(box: Sandbox) -> None:
    box.tool("helm", "3.10.0")  # older than the pin's min (3.14.0)
    box.tool("kubectl", "1.37.0")
    box.standin("curl")
    result = box.run("bash", "scripts/tools.sh", "check", *TOOLS)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert [line.split(":")[0] for line in lines] == ["  - kind", "  - pulumi", "  - helm"], result.stderr
    assert "helm: 3.10.0 at" in result.stderr
    assert "is older than 3.14.0" in result.stderr
    assert "bash scripts/tools.sh install kind" in result.stderr
    # pulumi's pin has no sha256 yet: the message says so and gives the official install command.
    assert "without its sha256" in result.stderr
    assert "curl -fsSL https://get.pulumi.com | sh" in result.stderr


def test_preflight_accepts_what_it_can_install_and_refuses_what_it_cannot(box: Sandbox) -> None:
    box.standin("curl")
    result = box.run("bash", "scripts/tools.sh", "preflight", *TOOLS)
    assert result.returncode == 1
    named = [line.split(":")[0].strip(" -") for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert named == ["pulumi"], result.stderr  # kind, helm, kubectl are pinned with their sha256
    assert box.calls("curl") == []  # preflight changes nothing


def test_preflight_needs_curl_to_install(box: Sandbox) -> None:
    result = box.run("bash", "scripts/tools.sh", "preflight", "kind")
    assert result.returncode == 1
    assert "installing kind 0.33.0 needs curl (not found)" in result.stderr
    assert "https://kind.sigs.k8s.io/docs/user/quick-start/#installation" in result.stderr


def test_a_platform_without_a_pin_is_named(box: Sandbox) -> None:
    box.uname("Linux", "riscv64")
    result = box.run("bash", "scripts/tools.sh", "preflight", "kind")
    assert result.returncode == 1
    assert "pins no kind build for linux-riscv64" in result.stderr
    assert "https://kind.sigs.k8s.io/docs/user/quick-start/#installation" in result.stderr


# --- install -----------------------------------------------------------------------------------


def test_install_puts_verified_pins_into_cache_tools(box: Sandbox, tmp_path: Path) -> None:
    kind = tmp_path / "kind-linux-amd64"
    kind.write_text('#!/bin/bash\n[ "$1" = version ] && echo "kind v0.33.0 go1.24 linux/amd64"\nexit 0\n')
    helm = tool_archive(
        tmp_path, "linux-amd64", {"helm": '#!/bin/bash\necho "v4.3.0+gabcdef"\n', "README.md": "docs\n"}
    )
    box.pin("kind", "linux-amd64", sha=sha256(kind))
    box.pin("helm", "linux-amd64", sha=sha256(helm))
    urls = {
        "https://github.com/kubernetes-sigs/kind/releases/download/v0.33.0/kind-linux-amd64": kind,
        "https://get.helm.sh/helm-v4.3.0-linux-amd64.tar.gz": helm,
    }
    box.curl_serving(urls)
    box.tool("kubectl", "1.37.0")  # present: not downloaded

    result = box.run("bash", "scripts/tools.sh", "install", "kind", "helm", "kubectl")
    assert result.returncode == 0, result.stderr
    tools = box.root / ".cache" / "tools"
    assert executable(tools / "kind")
    assert executable(tools / "helm")
    assert not (tools / "README.md").exists()  # only the archive's executables
    assert not (tools / "kubectl").exists()
    assert [c.split()[-1] for c in box.calls("curl")] == list(urls)
    assert list(tools.glob(".install*")) == []
    assert box.run("bash", "scripts/tools.sh", "check", "kind", "helm", "kubectl").returncode == 0


def test_install_replaces_a_too_old_tool_on_path(box: Sandbox, tmp_path: Path) -> None:
    box.tool("kind", "0.20.0")
    kind = tmp_path / "kind"
    kind.write_text('#!/bin/bash\necho "kind v0.33.0 go1.24 linux/amd64"\n')
    box.pin("kind", "linux-amd64", sha=sha256(kind))
    box.curl_serving({"https://github.com/kubernetes-sigs/kind/releases/download/v0.33.0/kind-linux-amd64": kind})
    assert box.run("bash", "scripts/tools.sh", "install", "kind").returncode == 0
    status = box.run("bash", "scripts/tools.sh", "status", "kind")
    assert status.stdout.strip() == f"kind: {box.root}/.cache/tools/kind 0.33.0"


def test_a_download_with_another_sha256_is_not_installed(box: Sandbox, tmp_path: Path) -> None:
    tampered = tmp_path / "kind"
    tampered.write_text("#!/bin/bash\necho evil\n")
    # The real pin: a file with other bytes can never match it.
    box.curl_serving({"https://github.com/kubernetes-sigs/kind/releases/download/v0.33.0/kind-linux-amd64": tampered})
    result = box.run("bash", "scripts/tools.sh", "install", "kind")
    assert result.returncode != 0
    assert "sha256 mismatch" in result.stderr
    assert "nothing installed" in result.stderr
    tools = box.root / ".cache" / "tools"
    assert sorted(p.name for p in tools.iterdir()) == []


def test_a_pin_without_sha256_is_refused_not_installed_unverified(box: Sandbox) -> None:
    box.standin("curl", "exit 0")
    result = box.run("bash", "scripts/tools.sh", "install", "pulumi")
    assert result.returncode != 0
    assert "pins pulumi 3.272.0 for linux-amd64 without its sha256" in result.stderr
    assert "https://get.pulumi.com/releases/sdk/pulumi-v3.272.0-linux-x64.tar.gz" in result.stderr
    assert box.calls("curl") == []
    assert not (box.root / ".cache" / "tools" / "pulumi").exists()


def test_helm_for_intel_macs_has_no_sha256_yet_and_is_refused(box: Sandbox) -> None:
    box.uname("Darwin", "x86_64")
    box.standin("curl")
    result = box.run("bash", "scripts/tools.sh", "install", "helm")
    assert result.returncode != 0
    assert "pins helm 4.3.0 for darwin-amd64 without its sha256" in result.stderr
    assert box.calls("curl") == []


def test_pulumi_archive_installs_its_language_hosts_beside_it(box: Sandbox, tmp_path: Path) -> None:
    archive = tool_archive(
        tmp_path,
        "pulumi",
        {"pulumi": '#!/bin/bash\necho "v3.272.0"\n', "pulumi-language-python": "#!/bin/bash\n", "LICENSE": "text"},
    )
    url = "https://get.pulumi.com/releases/sdk/pulumi-v3.272.0-linux-x64.tar.gz"
    box.pin("pulumi", "linux-amd64", sha=sha256(archive))
    box.curl_serving({url: archive})
    result = box.run("bash", "scripts/tools.sh", "install", "pulumi")
    assert result.returncode == 0, result.stderr
    assert "3.272.0, sha256 verified" in result.stdout
    tools = box.root / ".cache" / "tools"
    assert executable(tools / "pulumi")
    assert executable(tools / "pulumi-language-python")
    assert not (tools / "LICENSE").exists()


def test_usage_without_a_command(box: Sandbox) -> None:
    result = box.run("bash", "scripts/tools.sh")
    assert result.returncode == 2
    assert "Usage: bash scripts/tools.sh check TOOL" in result.stderr


def test_a_tool_that_prints_no_version_is_used_with_a_warning(box: Sandbox) -> None:
    box.standin("pulumi", "exit 0")  # a build whose `pulumi version` prints nothing
    result = box.run("bash", "scripts/tools.sh", "check", "pulumi")
    assert result.returncode == 0
    assert f"warning: {box.bin}/pulumi prints no version (expected >= 3.272.0); using it" in result.stderr
