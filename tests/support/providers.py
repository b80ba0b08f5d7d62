"""Dynamic providers as the engine keeps them: pickled into the state, loaded by a fresh process."""

from __future__ import annotations

import subprocess
import sys

from tests.support.stacks import REPO

# What pulumi's dynamic-provider process does with the state's ``__provider`` (pulumi/dynamic/
# __main__.py get_provider: dill.loads of the base64 text), started from the project root.
_LOAD = (
    "import base64, sys, dill; p = dill.loads(base64.b64decode(sys.stdin.read())); "
    "print(type(p).__module__ + '.' + type(p).__name__)"
)


def unpickled_class(serialized: str) -> str:
    """``module.Class`` of the provider that ``serialized`` (serialize_provider's base64) loads as in a
    fresh interpreter; fails the test with the interpreter's stderr when it does not load."""
    result = subprocess.run(
        [sys.executable, "-c", _LOAD],
        input=serialized,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
