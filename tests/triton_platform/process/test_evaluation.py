"""triton_platform/process/evaluation.py against CPython's and pydantic's own behaviour, each in a fresh interpreter.

The program's process setup relies on three facts of the real components: the interpreter's final
collection at exit skips frozen objects (``Py_FinalizeEx``, ``gc.freeze``), pydantic reads
``PYDANTIC_DISABLE_PLUGINS`` before it searches the installed distributions for plugins
(``pydantic/plugin/_loader.py``), and a value the user set wins.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.stacks import REPO

# An object kept alive only by its own reference cycle: only the cyclic collector frees it, and its
# finalizer says when. ``PREPARE`` runs the program's process setup first.
_CYCLE = """
import sys
if {prepare}:
    from triton_platform.process import prepare_for_one_evaluation
    prepare_for_one_evaluation()
    prepare_for_one_evaluation()  # a second call changes nothing

class Cycle:
    def __init__(self):
        self.me = self
    def __del__(self):
        print("collected", flush=True)

Cycle()
print("exiting", flush=True)
sys.exit(0)
"""

# Whether pydantic searched the entry points for plugins when it built a model.
_PLUGINS = """
import json, os
if {prepare}:
    from triton_platform.process import prepare_for_one_evaluation
    prepare_for_one_evaluation()
import gc
from pydantic import BaseModel
from pydantic.plugin import _loader

class Model(BaseModel):
    a: int

Model(a=1)
print(json.dumps({{"searched": _loader._plugins is not None, "gc": gc.isenabled(),
                  "env": os.environ.get("PYDANTIC_DISABLE_PLUGINS")}}))
"""


def _python(code: str, user_plugins_setting: str | None = None) -> str:
    """stdout of ``code`` in a fresh interpreter; PYDANTIC_DISABLE_PLUGINS as the user set it (or unset)."""
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if user_plugins_setting is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = user_plugins_setting
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_without_the_setup_the_final_collection_frees_the_cycle_at_exit() -> None:
    # The reference: CPython's exit collects cyclic garbage (with gc on, or a collection before).
    assert _python(_CYCLE.format(prepare=False)).splitlines()[-1] == "collected"


def test_with_the_setup_nothing_is_collected_during_the_run_nor_at_exit() -> None:
    # Collection is off, and the objects alive at exit are frozen before the final collection:
    # the cycle is left to the operating system, its finalizer never runs (the documented trade).
    assert _python(_CYCLE.format(prepare=True)).splitlines() == ["exiting"]


@pytest.mark.parametrize(
    ("prepare", "user_value", "searched", "env"),
    [
        (False, None, True, None),  # pydantic's default: the entry points are searched
        (True, None, False, "__all__"),  # the setup: no search
        (True, "", True, ""),  # the user's own value wins, even empty (pydantic then searches)
    ],
)
def test_pydantic_searches_for_plugins_unless_the_setup_says_not(
    prepare: bool, user_value: str | None, searched: bool, env: str | None
) -> None:
    seen = json.loads(_python(_PLUGINS.format(prepare=prepare), user_value).splitlines()[-1])
    assert seen == {"searched": searched, "gc": not prepare, "env": env}
