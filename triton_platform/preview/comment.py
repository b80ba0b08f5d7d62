"""`python -m triton_platform.preview --stack NAME=EVENT_LOG ...`: the PR comment, on stdout.

Reads each stack's `pulumi preview --event-log` file (parsed with the Pulumi SDK's
``EngineEvent.from_json``) and prints one Markdown comment with every stack's section; see
:mod:`triton_platform.preview.render` for what it holds. A stack whose log is missing or
whose preview failed still gets its section, with the reason. A log that cannot be read at all
(missing, not UTF-8, not an event log) is also named on stderr, and when no log could be read
the command exits 1: a user's mistake is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from triton_platform.preview.events import StackPreview, load
from triton_platform.preview.render import comment

PROG = "python -m triton_platform.preview"
# Plain text for --help (the module docstring's reST markup reads badly in a terminal).
DESCRIPTION = (
    "Build the pull-request comment from each stack's engine event log (the file\n"
    "'pulumi preview --event-log FILE' writes) and print it, in Markdown, on stdout.\n"
    "A stack whose log is missing or whose preview failed still gets its section,\n"
    "with the reason."
)
EPILOG = (
    "example:\n"
    "  pulumi preview --stack staging --event-log /tmp/staging.jsonl\n"
    f"  {PROG} --stack staging=/tmp/staging.jsonl\n\n"
    "exit status: 0 when at least one log was read; 1 when none could be read; 2 for bad arguments."
)


def _stack_arg(value: str) -> tuple[str, str]:
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(
            f"--stack takes NAME=EVENT_LOG (valid example: staging=events.jsonl), got {value!r}"
        )
    return name, path


def load_all(stacks: Sequence[tuple[str, str]]) -> list[StackPreview]:
    return [load(name, path) for name, path in stacks]


def build(stacks: Sequence[tuple[str, str]], *, details_url: str | None = None) -> str:
    return comment(load_all(stacks), details_url=details_url)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--stack",
        action="append",
        type=_stack_arg,
        required=True,
        metavar="NAME=EVENT_LOG",
        help="a stack's name and the event log its preview wrote (repeat for every stack; each name once)",
    )
    p.add_argument(
        "--details-url", default=None, help="where the full diff is (the workflow run), linked from the comment"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    names = [name for name, _ in args.stack]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        cli.error(f"stack {', '.join(map(repr, twice))} given more than once: give each --stack NAME once")
    previews = load_all(args.stack)
    for p in previews:
        if p.unreadable:
            print(f"{PROG}: stack {p.stack!r}: {p.missing}", file=sys.stderr)
    sys.stdout.write(comment(previews, details_url=args.details_url))
    if all(p.unreadable for p in previews):
        print(f"{PROG}: error: no event log could be read", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
