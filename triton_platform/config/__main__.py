"""``python -m triton_platform.config Pulumi.<stack>.yaml [...]``: check stack files without Pulumi.

Each file is checked exactly as ``pulumi up`` checks its stack's configuration before it
registers anything (``triton_platform.config.stack_file``: the ``triton-platform:`` keys and the
provider keys such as ``aws:region``), with the same message. One line per good file on stdout;
every problem on stderr, never a traceback. Exit status 0 when every file is good, 1 otherwise
(2 for a wrong command line). ``make validate STACK=<stack>`` runs it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from triton_platform.config.errors import ConfigError
from triton_platform.config.stack_file import StackFileError, check_stack_file


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m triton_platform.config",
        description="Check Pulumi stack files as `pulumi up` checks their configuration, without Pulumi.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="Pulumi.<stack>.yaml", help="stack files to check")
    args = parser.parse_args(argv)
    failed = False
    for path in args.files:
        try:
            print(check_stack_file(path).summary())
        except (StackFileError, ConfigError) as err:
            failed = True
            print(f"{path}: {err}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
