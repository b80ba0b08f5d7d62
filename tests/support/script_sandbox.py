"""A copy of the repository's scripts in a temporary folder, run with stand-in commands on PATH.

The tests of ``scripts/*.sh`` and the Makefile run them here. ``bin/`` holds stand-ins (docker,
kind, pulumi, curl, python, uname, df...) written by the test; each appends its command line to
``calls.log``. ``sysbin/`` links the real base utilities (bash, awk, sed, tar, sha256sum...). PATH is
those two folders only, so nothing of this machine (a real docker, pulumi or python3) leaks in, and
nothing reaches the network: a test sees every command the scripts ran.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import yaml

from triton_platform.config import NAMESPACE, PlatformConfig, parse_config

REPO = Path(__file__).resolve().parents[2]

# What the scripts need from the repository (samples/ for `make samples` and the stack templates).
COPIED = (
    "Makefile",
    "scripts",
    "samples",
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "requirements.txt",
    "requirements-dev.txt",
    "pyproject.toml",
)
# Real utilities the scripts use; everything else must be a stand-in.
BASE_UTILITIES = (
    "bash",
    "env",
    "cat",
    "cut",
    "tr",
    "sed",
    "awk",
    "grep",
    "head",
    "tail",
    "sort",
    "paste",
    "mkdir",
    "rm",
    "mv",
    "cp",
    "chmod",
    "dirname",
    "basename",
    "mktemp",
    "ls",
    "tar",
    "gzip",
    "sha256sum",
    "wc",
)
TIMEOUT_S = 60

# Version lines as each tool prints them (its own format), per tool and version.
VERSION_OUTPUT = {
    "kind": ("version", "kind v{v} go1.24.4 linux/amd64"),
    "pulumi": ("version", "v{v}"),
    "helm": ("version", "v{v}+g05fa379"),
    "kubectl": ("version", "Client Version: v{v}\nKustomize Version: v5.6.0"),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Sandbox:
    """A repository copy (``root``) and the PATH the scripts run with."""

    def __init__(self, tmp: Path, *, utilities: tuple[str, ...] = BASE_UTILITIES) -> None:
        self.root = tmp / "repo"
        self.bin = tmp / "bin"
        self.sysbin = tmp / "sysbin"
        self.home = tmp / "home"
        self.log = tmp / "calls.log"
        for folder in (self.root, self.bin, self.sysbin, self.home):
            folder.mkdir(parents=True)
        ignore = shutil.ignore_patterns("__pycache__", "*.onnx", ".venv", ".cache", ".state")
        for name in COPIED:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, self.root / name, ignore=ignore)
            else:
                shutil.copy2(source, self.root / name)
        self.log.touch()
        for name in utilities:
            real = shutil.which(name, path="/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin")
            if real:
                (self.sysbin / name).symlink_to(real)

    # --- stand-ins ---------------------------------------------------------------------------

    def standin(self, name: str, body: str = "exit 0", *, label: str | None = None) -> Path:
        """``bin/<name>``: logs ``<label> <args>`` (label: the name) to calls.log, then runs ``body`` (bash)."""
        path = self.bin / name
        path.write_text(f'#!/bin/bash\nprintf \'%s\\n\' "{label or name} $*" >> "{self.log}"\n{body}\n')
        path.chmod(0o755)
        return path

    def tool(self, name: str, version: str, where: Path | None = None) -> Path:
        """A stand-in of kind/pulumi/helm/kubectl that reports ``version`` the way the real one does."""
        word, line = VERSION_OUTPUT[name]
        body = f'if [ "$1" = {word} ]; then printf "%s\\n" "{line.format(v=version)}"; fi\nexit 0'
        if where is None:
            return self.standin(name, body)
        where.mkdir(parents=True, exist_ok=True)
        path = where / name
        path.write_text(f'#!/bin/bash\nprintf \'%s\\n\' "{name} $*" >> "{self.log}"\n{body}\n')
        path.chmod(0o755)
        return path

    def good_tools(self) -> None:
        for name, version in (("kind", "0.33.0"), ("pulumi", "3.272.0"), ("helm", "4.3.0"), ("kubectl", "1.37.0")):
            self.tool(name, version)

    def uname(self, system: str = "Linux", machine: str = "x86_64") -> None:
        self.standin("uname", f'case "$1" in -s) echo {system} ;; -m) echo {machine} ;; *) echo {system} ;; esac')

    def docker(
        self,
        *,
        mem_bytes: int = 8_200_000_000,
        cpus: int = 4,
        data_root: str = "/var/lib/docker",
        system: str = "Docker Desktop",
        containers: str = "",
        stats: str = "",
        down: bool = False,
    ) -> None:
        """``docker info`` / ``ps`` / ``stats`` answering with these figures (or a daemon that is down)."""
        if down:
            info = 'echo "0 0  "; echo "Cannot connect to the Docker daemon at unix:///x.sock." >&2; exit 1'
        else:
            info = f'echo "{mem_bytes} {cpus} {data_root} {system}"'
        self.standin(
            "docker",
            f"""case "$1" in
  info) {info} ;;
  ps) printf '%s' "{containers}" ;;
  stats) printf '%s' "{stats}" ;;
  *) echo "unexpected docker $*" >&2; exit 3 ;;
esac""",
        )

    def df(self, avail_kib: int) -> None:
        self.standin(
            "df",
            'echo "Filesystem 1024-blocks Used Available Capacity Mounted"\n'
            f'echo "/dev/x 999999999 1 {avail_kib} 1% /"',
        )

    def curl_serving(self, files: dict[str, Path]) -> None:
        """A curl that "downloads" each URL from a local file (any other URL fails like a 404)."""
        cases = "\n".join(f'  "{url}") cp "{path}" "$out" ;;' for url, path in files.items())
        self.standin(
            "curl",
            f"""out=""; url=""
while [ "$#" -gt 0 ]; do case "$1" in -o) out="$2"; shift 2 ;; -*) shift ;; *) url="$1"; shift ;; esac; done
case "$url" in
{cases}
  *) echo "curl: (22) 404 $url" >&2; exit 22 ;;
esac""",
        )

    def python(self, name: str, version: str, *, venv_module: bool = True) -> Path:
        """A Python stand-in: answers the version probe, makes .venv (a copy of itself) on -m venv.

        It logs its own path (``$0``), so calls of the copy in ``.venv/bin/python`` stand apart.
        """
        venv_answer = "exit 0" if venv_module else "exit 1"
        body = f"""case "$*" in
  *version_info*) echo {version}; exit 0 ;;
  *"import venv, ensurepip"*) {venv_answer} ;;
  *hashlib*) echo "stamp-{version}"; exit 0 ;;
  "-m venv"*) dir="${{@: -1}}"; mkdir -p "$dir/bin"; cp "$0" "$dir/bin/python"; exit 0 ;;
esac
exit 0"""
        return self.standin(name, body, label="$0")

    # --- running -------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "PATH": f"{self.bin}:{self.sysbin}",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.home),
        }
        env.update(extra)
        return env

    def run(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` in the repository copy with the sandbox's PATH, plus ``env``."""
        return subprocess.run(
            list(args),
            cwd=self.root,
            env=self.env(**(env or {})),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def calls(self, name: str | None = None) -> list[str]:
        lines = self.log.read_text().splitlines()
        return [line for line in lines if name is None or line.split(" ", 1)[0] == name]

    # --- the pins ------------------------------------------------------------------------------

    def pin(self, tool: str, platform: str, *, sha: str | None = None, url: str | None = None) -> None:
        """Rewrite one row of the sandbox's scripts/tools.lock (sha256 and/or URL)."""
        lock = self.root / "scripts" / "tools.lock"
        lines = []
        for line in lock.read_text().splitlines():
            fields = line.split()
            if fields[:1] == [tool] and fields[3] == platform:
                fields[5] = sha or fields[5]
                fields[6] = url or fields[6]
                line = "  ".join(fields)
            lines.append(line)
        lock.write_text("\n".join(lines) + "\n")


def tool_archive(tmp: Path, member_dir: str, files: dict[str, str]) -> Path:
    """A .tar.gz of ``<member_dir>/<name>`` for each file; those starting with ``#!`` are executable."""
    src = tmp / f"archive-{member_dir}"
    (src / member_dir).mkdir(parents=True)
    for name, text in files.items():
        path = src / member_dir / name
        path.write_text(text)
        path.chmod(0o755 if text.startswith("#!") else 0o644)
    out = tmp / f"{member_dir}.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(src / member_dir, arcname=member_dir)
    return out


def executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def load_stack_file(path: Path, stack: str, base_dir: Path) -> PlatformConfig:
    """Validate a Pulumi.<stack>.yaml as the program does (our keys, provider keys as their defaults)."""
    config: dict[str, Any] = yaml.safe_load(path.read_text())["config"]
    raw = {k.partition(":")[2]: v for k, v in config.items() if k.startswith(f"{NAMESPACE}:")}
    providers = {k: str(v) for k, v in config.items() if not k.startswith(f"{NAMESPACE}:")}
    return parse_config(raw, base_dir=base_dir, stack=stack, provider_config=providers)
