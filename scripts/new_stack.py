"""Writes ``Pulumi.<name>.yaml`` for a new stack on a cloud, from scripts/stack_templates/<cloud>.yaml.

``make stack NAME=<name> CLOUD=<aws|gcp|azure>`` runs it. The file is a minimal valid configuration
with comments on what to change; it is checked with the same rules as ``pulumi up`` before it is
written (a template that does not validate is a bug, and writes nothing), and an existing stack
file is never overwritten.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from string import Template
from typing import Any

import yaml

from triton_platform.catalog.versions import DEFAULT_KUBERNETES_VERSION

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "stack_templates"
CLOUDS = ("aws", "gcp", "azure")
USAGE = "make stack NAME=<name> CLOUD=<aws|gcp|azure>"
# Pulumi's rule for a stack name (also the Pulumi.<stack>.yaml file name).
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# GKE caps cluster names at 40 characters, the strictest of the three clouds.
CLUSTER_NAME_MAX = 40


class StackError(ValueError):
    """A NAME or CLOUD the command refuses; the message says what to do."""


def cluster_name(stack: str) -> str:
    """``triton-<stack>`` as a DNS label: lowercase, '-' for anything else, at most 40 characters."""
    label = re.sub(r"[^a-z0-9]+", "-", f"triton-{stack.lower()}")
    return label[:CLUSTER_NAME_MAX].strip("-")


def existing_stacks(root: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def check_request(name: str, cloud: str, root: Path) -> Path:
    """The stack file to write; raises StackError naming every problem with NAME and CLOUD."""
    problems = []
    if not name:
        problems.append(f"NAME is missing: {USAGE}")
    elif not STACK_NAME.match(name):
        problems.append(f"NAME {name!r} is not a Pulumi stack name: letters, digits, '-', '_' and '.' only")
    if cloud not in CLOUDS:
        given = f"CLOUD {cloud!r} is not one of" if cloud else "CLOUD is missing: one of"
        problems.append(f"{given} {', '.join(CLOUDS)} ({USAGE}; the local kind stack is `dev`)")
    path = root / f"Pulumi.{name}.yaml"
    if name and path.exists():
        problems.append(
            f"{path.name} exists already: choose another NAME (stacks here: {', '.join(existing_stacks(root))}); "
            "it is never overwritten"
        )
    if problems:
        raise StackError("\n".join(f"  - {p}" for p in problems))
    return path


def render(name: str, cloud: str) -> str:
    template = Template((TEMPLATES / f"{cloud}.yaml").read_text(encoding="utf-8"))
    # The default minor the schema uses, so a new stack starts on a version the clouds offer today.
    return template.substitute(
        stack=name, cluster_name=cluster_name(name), kubernetes_version=DEFAULT_KUBERNETES_VERSION
    )


def validate(text: str, name: str, root: Path) -> None:
    """Check the rendered file exactly as the program checks a stack's configuration."""
    from triton_platform.config import NAMESPACE, parse_config

    config: dict[str, Any] = (yaml.safe_load(text) or {}).get("config") or {}
    raw = {key.partition(":")[2]: value for key, value in config.items() if key.startswith(f"{NAMESPACE}:")}
    providers = {key: str(value) for key, value in config.items() if not key.startswith(f"{NAMESPACE}:")}
    parse_config(raw, base_dir=root, stack=name, provider_config=providers)


def write_stack(name: str, cloud: str, root: Path = REPO) -> Path:
    """Render, validate and create ``Pulumi.<name>.yaml`` (exclusively: an existing file stays)."""
    path = check_request(name, cloud, root)
    text = render(name, cloud)
    validate(text, name, root)
    with path.open("x", encoding="utf-8") as fh:
        fh.write(text)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make stack", description="Write Pulumi.<name>.yaml for a new stack.")
    parser.add_argument("--name", default="", help="the stack name (Pulumi.<name>.yaml)")
    parser.add_argument("--cloud", default="", help=f"one of {', '.join(CLOUDS)}")
    args = parser.parse_args(argv)
    from triton_platform.config import ConfigError

    try:
        path = write_stack(args.name.strip(), args.cloud.strip().lower(), REPO)
    except StackError as err:
        print(f"no stack file written:\n{err}", file=sys.stderr)
        return 2
    except ConfigError as err:
        print(f"no stack file written: the {args.cloud} template does not validate:\n{err}", file=sys.stderr)
        return 1
    except FileExistsError as err:
        print(f"no stack file written: {err.filename} appeared meanwhile; it is never overwritten", file=sys.stderr)
        return 2
    print(f"wrote {path.name}: change what is marked CHANGE, then `make validate STACK={args.name.strip()}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
