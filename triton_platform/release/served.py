"""``python -m triton_platform.release served --stack STACK [--digest sha256:...]``: record which release serves.

Under ``triton.rollout.strategy: canary`` a release a stack kept is served by canary pods first;
only when the rollout controller promoted it to 100 % of the traffic does it become the release
the stable pods serve. deploy.yml runs this command once the rollout completed: it reads the
stack's ``release`` output (``pulumi stack output --json``, as the promote command does), opens
the bucket that output names (credentials from the environment, as `pulumi up` gets them) and
marks the release in the bucket's history (``servedAt``, triton_platform.release.promotion
``mark_served``); ``serving_digest`` of that history is what the stack's ReleaseLocation keeps
and exports as ``serving``. ``--digest``: another release the bucket keeps (a rollback rolled out).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from triton_platform.publisher.errors import PublisherError
from triton_platform.publisher.stores import StoreRef, open_store
from triton_platform.publisher.wire import restore_ints
from triton_platform.release.manifest import ReleaseError
from triton_platform.release.promote import PromoteError, outputs_via_automation, outputs_via_cli, read_release
from triton_platform.release.promotion import mark_served, serving_digest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m triton_platform.release served",
        description="Record that a stack's release now serves 100 % of the traffic (after a canary rollout).",
    )
    parser.add_argument("--stack", required=True, help="the stack whose rollout completed, e.g. staging")
    parser.add_argument("--digest", help="the release rolled out, when not the one the stack exports (sha256:...)")
    parser.add_argument("--cwd", type=Path, default=Path.cwd(), help="the Pulumi project directory (default: .)")
    parser.add_argument("--via", choices=("cli", "automation"), default="cli", help="how stack outputs are read")
    return parser


def _store(stack: str, outputs: dict[str, Any]) -> tuple[str, StoreRef]:
    """The digest the stack exports and the store its ``release`` output names."""
    release = read_release(stack, outputs)
    if release.store is None:
        raise PromoteError(f"{stack}'s `release` output names no store (run `pulumi up --stack {stack}` first)")
    try:
        return release.digest, StoreRef.model_validate(restore_ints(release.store))
    except ValidationError as err:
        why = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'store'}: {e['msg']}" for e in err.errors())
        raise PromoteError(f"{stack}'s `release` output names a store that is not valid ({why})") from None


def main(
    argv: Sequence[str] | None = None,
    *,
    outputs: Callable[[str, Path], dict[str, Any]] | None = None,
    out: Any = None,
) -> int:
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    try:
        read = outputs or (outputs_via_automation if args.via == "automation" else outputs_via_cli)
        exported, ref = _store(args.stack, read(args.stack, args.cwd))
        digest = args.digest or exported
        store = open_store(ref)
        history = mark_served(store, digest)
    except (PromoteError, ReleaseError, PublisherError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a cloud SDK's own error (no credentials, no network): one line, no traceback
        print(
            f"error: {args.stack}: reading or writing the release history failed ({type(exc).__name__}: {exc})",
            file=sys.stderr,
        )
        return 2
    note = "" if digest == exported else f" (the stack exports {exported})"
    print(f"{args.stack}: release {serving_digest(history)} serves 100 % of the traffic{note}", file=out)
    print(f"  recorded in {ref.describe()}, {ref.cache_key('releases', 'history.json')}", file=out)
    return 0


__all__ = ["main"]
