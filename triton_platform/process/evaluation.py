"""The program's Python process, set up for what it is: one evaluation, then exit.

``pulumi up`` and ``pulumi preview`` start the program in a fresh interpreter
(pulumi/pulumi ``sdk/python/cmd/pulumi-language-python-exec``): it runs ``__main__.py`` once,
awaits every registration, then ``sys.exit``. Two costs of that process are not the program's work:

- CPython's cyclic garbage collector. It walks every tracked object again and again while the SDKs
  and the config models are built (130,000 objects for the dev stack, 400,000 for prod with
  pulumi-aws), and once more at exit, after the run (``Py_FinalizeEx`` collects even with
  ``gc.disable()``). The program leaves little cyclic garbage: ``gc.collect()`` after a whole
  evaluation finds 12,500 objects for the dev stack and 36,000 for prod, while that one collection
  takes 35 ms and 195 ms, and without collection the peak RSS grows by under 2 MB (this machine,
  2026-12-06). So automatic collection is off for the run, and at exit everything still alive is
  frozen (``gc.freeze``, Python >= 3.7): the final collection skips it and the operating system
  takes the memory back. Measured with
  ``bench/program_eval.py`` (docs/performance.md): the dev program's exit goes from 88 ms to 15 ms.
  What this gives up: a finalizer (``__del__``) of an object caught in a reference cycle does not
  run at exit. The program keeps nothing in cycles that needs one: files are written in ``with``
  blocks, and ``weakref.finalize`` and ``atexit`` callbacks run as before.
- pydantic's plugin discovery: before it builds its first model, pydantic reads the entry points
  of every installed distribution to find plugins (``pydantic/plugin/_loader.py``), about 8 ms
  with this project's requirements. The program uses no pydantic plugin; pydantic's documented
  switch ``PYDANTIC_DISABLE_PLUGINS=__all__`` skips the search, unless the user set the variable
  (to any value, ``""`` included: pydantic then searches).
"""

from __future__ import annotations

import atexit
import functools
import gc
import os


def prepare_for_one_evaluation() -> None:
    """Collect no garbage during the run nor at exit, and look for no pydantic plugin.

    Call it first in ``__main__.py``, before any model is built. Calling it again changes nothing.
    """
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    gc.disable()
    _freeze_at_exit()


@functools.cache
def _freeze_at_exit() -> None:
    # atexit callbacks run before the interpreter's final collection (Py_FinalizeEx).
    atexit.register(gc.freeze)
