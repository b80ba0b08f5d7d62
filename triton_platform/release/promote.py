"""``python -m triton_platform.release --from ORG/PROJECT/STACK --to STACK``: promote a tested release by digest.

Reads the source stack's ``release`` output (``pulumi stack output --json --stack FROM``, or the
Automation API with ``--via automation``), pins it in ``Pulumi.<to>.yaml`` as
``triton-platform:release: {fromStack, digest}`` (a round-trip YAML edit: comments and key order
stay), prints the file's diff and what the target would serve differently, and with ``--yes``
runs ``pulumi up --stack <to> --yes``. Run it on a branch and open the change as a pull request:
the review is the one-line digest change (see the README, "Releases and promotion").
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from triton_platform.config import NAMESPACE, STACK_REF_PATTERN
from triton_platform.release.manifest import Release, ReleaseError, kept_in_history

RELEASE_KEY = f"{NAMESPACE}:release"
MODELS_KEY = f"{NAMESPACE}:models"
_STACK_REF = re.compile(STACK_REF_PATTERN)
# Plain stack names, as `pulumi stack init` allows them (https://www.pulumi.com/docs/iac/concepts/stacks/).
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class PromoteError(RuntimeError):
    """What went wrong, and what to do; printed without a traceback."""


# --- reading stack outputs -----------------------------------------------------------------------------


def _pulumi() -> str:
    found = shutil.which("pulumi")
    if found is None:
        raise PromoteError(
            "the Pulumi CLI (`pulumi`) is not on PATH: install it (https://www.pulumi.com/docs/install/, "
            "or `bash scripts/dev-up.sh`, which puts it in .cache/tools: `source scripts/env.sh`)"
        )
    return found


def outputs_via_cli(stack: str, cwd: Path) -> dict[str, Any]:
    """``pulumi stack output --json --stack STACK``: every output of the stack (secrets masked)."""
    try:
        proc = subprocess.run(
            [_pulumi(), "stack", "output", "--json", "--stack", stack],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        raise PromoteError(f"`pulumi stack output --json --stack {stack}` did not answer within 300 s") from None
    if proc.returncode != 0:
        raise PromoteError(
            f"`pulumi stack output --json --stack {stack}` failed: {proc.stderr.strip() or proc.stdout.strip()} "
            f"(is the state backend the stack's? `source scripts/env.sh` for the dev stack's file backend; "
            f"a stack never created needs `pulumi stack init {stack}`)"
        )
    try:
        data = json.loads(proc.stdout or "{}")
    except ValueError:
        raise PromoteError(f"`pulumi stack output --json --stack {stack}` printed no JSON") from None
    if not isinstance(data, dict):
        raise PromoteError(f"`pulumi stack output --json --stack {stack}` printed no JSON object")
    return data


def outputs_via_automation(stack: str, cwd: Path) -> dict[str, Any]:
    """The same through the Automation API (``pulumi.automation.select_stack(...).outputs()``).

    The Automation API drives the ``pulumi`` CLI, so it needs the CLI on PATH like ``--via cli``.
    """
    _pulumi()
    from pulumi import automation

    try:
        selected = automation.select_stack(stack_name=stack, work_dir=str(cwd))
        return {name: out.value for name, out in selected.outputs().items()}
    except automation.CommandError as exc:
        raise PromoteError(f"reading the outputs of {stack} through the Automation API failed: {exc}") from None


def read_release(stack: str, outputs: Mapping[str, Any]) -> Release:
    try:
        return Release.parse(outputs.get("release"), where=stack)
    except ReleaseError as exc:
        raise PromoteError(str(exc)) from None


# --- editing the stack file ---------------------------------------------------------------------------


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    # The repository's Pulumi.<stack>.yaml style: lists indented under their key.
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def pin_release(text: str, from_stack: str, digest: str) -> tuple[str, list[str]]:
    """``text`` (a Pulumi.<stack>.yaml) with ``release.fromStack``/``release.digest`` set, and notes on other changes.

    Everything else (comments, key order, quoting) stays as it was. ``models`` goes: a promoted
    stack serves the upstream's models, and the config refuses both.
    """
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    yaml = _yaml()
    try:
        doc = yaml.load(text) if text.strip() else None
    except YAMLError as exc:
        raise PromoteError(f"the stack file is not valid YAML: {exc}") from None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, dict):
        raise PromoteError("the stack file is not a YAML mapping")
    config = doc.get("config")
    if config is None:
        config = doc["config"] = CommentedMap()
    notes: list[str] = []
    release = config.get(RELEASE_KEY)
    if not isinstance(release, dict):
        release = CommentedMap()
        config[RELEASE_KEY] = release
    release["fromStack"] = from_stack
    release["digest"] = digest
    if MODELS_KEY in config:
        del config[MODELS_KEY]
        notes.append(f"removed {MODELS_KEY}: a promoted stack serves exactly the models of {from_stack}")
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue(), notes


def describe_change(current: Release | None, new: Release) -> list[str]:
    """What the target serves differently: per model, the version (and whether its bytes change)."""
    lines = [f"release: {current.digest if current else '(none)'} -> {new.digest}"]
    old_models = {m.name: m for m in current.manifest.models} if current else {}
    for m in new.manifest.models:
        old = old_models.pop(m.name, None)
        if old is None:
            lines.append(f"  + {m.name} v{m.version} ({m.format})")
        elif old.version != m.version or old.files != m.files:
            lines.append(f"  ~ {m.name} v{old.version} -> v{m.version}")
        else:
            lines.append(f"    {m.name} v{m.version} (unchanged)")
    for name, old in sorted(old_models.items()):
        lines.append(f"  - {name} v{old.version}")
    if current and current.manifest.triton_version != new.manifest.triton_version:
        lines.append(f"  triton: {current.manifest.triton_version} -> {new.manifest.triton_version}")
    return lines


# --- the command --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m triton_platform.release",
        description="Pin another stack's tested release in Pulumi.<to>.yaml (and deploy it with --yes).",
    )
    parser.add_argument("--from", dest="source", required=True, help="source stack, e.g. acme/triton-platform/dev")
    parser.add_argument("--to", dest="target", required=True, help="target stack (its Pulumi.<to>.yaml is edited)")
    parser.add_argument(
        "--digest", help="an older digest the source still keeps, instead of the one it exports (rollback)"
    )
    parser.add_argument("--cwd", type=Path, default=Path.cwd(), help="the Pulumi project directory (default: .)")
    parser.add_argument("--via", choices=("cli", "automation"), default="cli", help="how stack outputs are read")
    parser.add_argument("--preview", action="store_true", help="also run `pulumi preview --diff` on the target")
    parser.add_argument("--yes", action="store_true", help="run `pulumi up --stack <to> --yes` after editing")
    return parser


def _stack_files(cwd: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in cwd.glob("Pulumi.*.yaml"))


def _target_file(cwd: Path, target: str) -> Path:
    """The target's existing stack file: a typo never creates a new stack file."""
    if not cwd.is_dir():
        raise PromoteError(f"--cwd {str(cwd)!r} is not a directory (the Pulumi project, where Pulumi.yaml is)")
    name = target.rsplit("/", 1)[-1]
    if not _STACK_NAME.match(name):
        raise PromoteError(f"--to {target!r} is not a stack name (valid example: 'staging')")
    path = cwd / f"Pulumi.{name}.yaml"
    if not path.is_file():
        stacks = _stack_files(cwd)
        raise PromoteError(
            f"--to {target!r}: there is no {path} (the stacks here: {', '.join(stacks) or 'none'}); "
            f"create a new stack first (`make stack NAME={name} CLOUD=<aws|gcp|azure>`)"
        )
    return path


def main(
    argv: Sequence[str] | None = None,
    *,
    outputs: Callable[[str, Path], dict[str, Any]] | None = None,
    out: Any = None,
) -> int:
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    try:
        return _promote(args, outputs, out)
    except PromoteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a stack file that cannot be read or written, a cwd that went away
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _promote(args: argparse.Namespace, outputs: Callable[[str, Path], dict[str, Any]] | None, out: Any) -> int:
    if not _STACK_REF.match(args.source):
        raise PromoteError(
            f"--from {args.source!r} must be the fully qualified stack name <organization>/<project>/<stack> "
            "(what a StackReference needs; valid example: acme/triton-platform/dev)"
        )
    read = outputs or (outputs_via_automation if args.via == "automation" else outputs_via_cli)
    cwd: Path = args.cwd
    path = _target_file(cwd, args.target)
    source_outputs = read(args.source, cwd)
    release = read_release(args.source, source_outputs)
    digest = release.digest
    current = _target_release(args.target, read(args.target, cwd))
    changes = describe_change(current, release)
    if args.digest and args.digest != digest:
        # A rollback: an older digest the source still keeps; the target's `pulumi up` reads its manifest.
        kept = kept_in_history(source_outputs.get("releaseHistory"))
        if args.digest not in kept:
            raise PromoteError(
                f"{args.source} neither exports nor keeps {args.digest} (it exports {digest}; keeps "
                f"{', '.join(kept) or 'none'}); a rollback promotes a digest the source still keeps"
            )
        digest = args.digest
        changes = [f"release: {current.digest if current else '(none)'} -> {digest} (rollback, kept by {args.source})"]
    before = path.read_text()
    after, notes = pin_release(before, args.source, digest)
    diff = difflib.unified_diff(before.splitlines(True), after.splitlines(True), str(path.name), str(path.name))
    text = "".join(diff)
    print(text if text else f"{path.name} already pins {digest}", file=out)
    for note in notes:
        print(f"note: {note}", file=out)
    for line in changes:
        print(line, file=out)
    if after != before:
        path.write_text(after)
    if args.preview:
        _run([_pulumi(), "preview", "--stack", args.target, "--diff"], cwd)
    if args.yes:
        _run([_pulumi(), "up", "--stack", args.target, "--yes"], cwd)
    else:
        print(
            f"next: commit {path.name} on a branch and open a pull request; after review, "
            f"`pulumi up --stack {args.target}` (or rerun with --yes)",
            file=out,
        )
    return 0


def _target_release(target: str, outputs: Mapping[str, Any]) -> Release | None:
    """What the target serves now; None when it exports no release yet (it published models, or is new).

    Its outputs must be readable: an error there (no such stack, no access to the backend) stops the
    command instead of showing "(none)" as if the target served nothing.
    """
    if outputs.get("release") is None:
        return None
    return read_release(target, outputs)


def _run(argv: list[str], cwd: Path) -> None:
    proc = subprocess.run(argv, cwd=cwd, check=False)
    if proc.returncode != 0:
        raise PromoteError(f"`{' '.join(argv[1:])}` failed with exit status {proc.returncode}")


if __name__ == "__main__":
    raise SystemExit(main())
