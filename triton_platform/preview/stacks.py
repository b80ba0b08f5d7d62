"""The repository's stacks as the workflows see them: which ones CI previews, in what order they deploy.

Stacks are the ``Pulumi.<stack>.yaml`` files next to ``Pulumi.yaml`` (Pulumi's own naming rule
for stack config files). A stack is previewed from CI when it runs on a cloud: a ``local``
stack (kind + MinIO) lives on a developer's machine, with its state in ``.state/`` and a
cluster only Docker on that machine can reach, so a CI runner has nothing to compare against.
Deploys go in promotion order: a stack that promotes another's release (``release.fromStack``)
after it, non-production stacks before production ones (``prod`` or ``prod-*``), then by name.
Production stacks deploy through a GitHub environment that requires approval.

``--clouds`` keeps the stacks of the clouds whose preview identity the repository has configured
(preview.yml passes them): a fork, or a repository set up for one cloud, previews nothing it
cannot log in to, instead of failing on the example stacks.

CLI (used by the workflows; prints JSON on stdout):
  python -m triton_platform.preview.stacks matrix            # {"include": [{stack, cloud, ...}]}
  python -m triton_platform.preview.stacks matrix --clouds aws,gcp   # only the stacks of these clouds
  python -m triton_platform.preview.stacks policy-config STACK  # --policy-pack-config for STACK
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

NAMESPACE = "triton-platform"
_STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>[A-Za-z0-9_.-]+)\.yaml$")
_PRODUCTION = re.compile(r"^prod($|[-_.])")
CI_CLOUDS = ("aws", "gcp", "azure")


class StackFileError(ValueError):
    """A Pulumi.<stack>.yaml the workflows cannot use."""


@dataclass(frozen=True)
class Stack:
    stack: str
    cloud: str
    production: bool
    environment: str
    # The stack whose release this one promotes, if any.
    from_stack: str | None = None
    # cluster.region (AWS) or cluster.location (GCP, Azure): where the cloud login points.
    region: str | None = None

    @property
    def previewable(self) -> bool:
        return self.cloud in CI_CLOUDS


def _config(path: Path) -> Mapping[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, Mapping):
        raise StackFileError(f"{path.name}: a stack file is a YAML mapping")
    config = data.get("config") or {}
    if not isinstance(config, Mapping):
        raise StackFileError(f"{path.name}: 'config' must be a mapping")
    return config


def _key(config: Mapping[str, Any], key: str) -> Any:
    return config.get(f"{NAMESPACE}:{key}")


def read_stack(path: Path) -> Stack:
    m = _STACK_FILE.match(path.name)
    if m is None:
        raise StackFileError(f"{path.name} is not a Pulumi.<stack>.yaml file")
    name = m["stack"]
    config = _config(path)
    cloud = _key(config, "cloud")
    if not isinstance(cloud, str):
        raise StackFileError(f"{path.name}: {NAMESPACE}:cloud is missing (valid example: {NAMESPACE}:cloud: gcp)")
    release = _key(config, "release")
    from_stack = release.get("fromStack") if isinstance(release, Mapping) else None
    production = bool(_PRODUCTION.match(name))
    cluster = _key(config, "cluster")
    region = None
    if isinstance(cluster, Mapping):
        region = cluster.get("region") or cluster.get("location")
    return Stack(
        stack=name,
        cloud=cloud,
        production=production,
        environment=f"production-{name}" if production else name,
        from_stack=str(from_stack) if from_stack else None,
        region=str(region) if region else None,
    )


def discover(root: Path | str = ".") -> list[Stack]:
    """Every stack of the project at ``root``, in promotion order."""
    paths = sorted(p for p in Path(root).glob("Pulumi.*.yaml") if _STACK_FILE.match(p.name))
    return promotion_order([read_stack(p) for p in paths])


def promotion_order(stacks: Sequence[Stack]) -> list[Stack]:
    """Non-production first, then production; a stack always after the one it promotes from."""
    by_name = {s.stack: s for s in stacks}
    ordered: list[Stack] = []
    placing: set[str] = set()

    def place(s: Stack) -> None:
        if s in ordered:
            return
        if s.stack in placing:
            raise StackFileError(f"release.fromStack forms a cycle through stack {s.stack!r}")
        placing.add(s.stack)
        if s.from_stack and s.from_stack in by_name:
            place(by_name[s.from_stack])
        ordered.append(s)

    for s in sorted(stacks, key=lambda s: (s.production, s.stack)):
        place(s)
    return ordered


def policy_config(path: Path) -> dict[str, Any]:
    """The --policy-pack-config of one stack: the opt-ins its config states explicitly.

    Policy names and their config properties are policy/rules.py's; a key left out keeps the
    rule's default (no opt-in).
    """
    config = _config(path)
    repo = _key(config, "modelRepository") or {}
    triton = _key(config, "triton") or {}
    service = triton.get("service") or {} if isinstance(triton, Mapping) else {}
    static_keys = isinstance(repo, Mapping) and repo.get("staticKeys") is True
    public = isinstance(service, Mapping) and service.get("type") == "LoadBalancer" and service.get("internal") is False
    return {
        "no-static-cloud-keys": {"allowStaticKeys": static_keys},
        "triton-not-public": {"allowPublicLoadBalancer": public},
    }


def matrix(
    stacks: Sequence[Stack], *, previewable_only: bool, clouds: Sequence[str] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The workflow matrix; ``clouds`` (None: every cloud) keeps only the stacks on those clouds."""
    rows = [
        asdict(s) for s in stacks if (s.previewable or not previewable_only) and (clouds is None or s.cloud in clouds)
    ]
    return {"include": rows}


def parse_clouds(text: str) -> list[str]:
    """``aws,gcp`` -> ["aws", "gcp"]; an empty text is no cloud at all (nothing configured)."""
    clouds = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in clouds if c not in CI_CLOUDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown cloud {', '.join(map(repr, unknown))}; clouds CI previews: {', '.join(CI_CLOUDS)} "
            "(example: --clouds aws,gcp)"
        )
    return clouds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m triton_platform.preview.stacks")
    parser.add_argument("--root", default=".")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("matrix", help="the stacks CI previews and deploys, in promotion order (JSON)")
    m.add_argument("--all", action="store_true", help="include stacks CI cannot preview (local)")
    m.add_argument(
        "--clouds",
        type=parse_clouds,
        default=None,
        metavar="CLOUD[,CLOUD...]",
        help="only the stacks of these clouds (those whose preview identity is configured); '' for none",
    )
    pc = sub.add_parser("policy-config", help="the policy pack config of one stack (JSON)")
    pc.add_argument("stack")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if args.command == "matrix":
        found = discover(root)
        out: Any = matrix(found, previewable_only=not args.all, clouds=args.clouds)
        kept = {row["stack"] for row in out["include"]}
        for s in found:
            if s.stack not in kept and (s.previewable or args.all):
                print(f"not previewed: {s.stack} (cloud {s.cloud}: no preview identity configured)", file=sys.stderr)
    else:
        path = root / f"Pulumi.{args.stack}.yaml"
        if not path.is_file():
            parser.error(f"no stack file {path.name} (stacks: {', '.join(s.stack for s in discover(root))})")
        out = policy_config(path)
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
