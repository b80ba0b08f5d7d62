"""`python -m triton_platform.preview --stack NAME=EVENT_LOG ...`: the PR comment, on stdout.

Reads each stack's `pulumi preview --event-log` file (parsed with the Pulumi SDK's
``EngineEvent.from_json``) and prints one Markdown comment with every stack's section; see
:mod:`triton_platform.preview.render` for what it holds. A stack whose log is missing or
whose preview failed still gets its section, with the error diagnostics.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from triton_platform.preview.events import EventLogError, StackPreview, load
from triton_platform.preview.render import comment


def _stack_arg(value: str) -> tuple[str, str]:
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(
            f"--stack takes NAME=EVENT_LOG (valid example: staging=events.jsonl), got {value!r}"
        )
    return name, path


def build(stacks: Sequence[tuple[str, str]], *, details_url: str | None = None) -> str:
    previews: list[StackPreview] = []
    for name, path in stacks:
        try:
            previews.append(load(name, path))
        except EventLogError as err:
            previews.append(StackPreview(stack=name, missing=f"the event log is not one Pulumi writes: {err}"))
    return comment(previews, details_url=details_url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m triton_platform.preview", description=__doc__)
    parser.add_argument("--stack", action="append", type=_stack_arg, required=True, metavar="NAME=EVENT_LOG")
    parser.add_argument("--details-url", default=None, help="where the full diff is (the workflow run)")
    args = parser.parse_args(argv)
    sys.stdout.write(build(args.stack, details_url=args.details_url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
