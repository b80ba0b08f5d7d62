"""Components: one ComponentResource per file under ``components/<module>/`` (the type token's module),
the dynamic providers under ``components/providers/``, and what they share (``base``, ``kubeconfig_file``).

The state of every existing stack holds its dynamic providers pickled by dill, which records an
importable class by reference: its module and name, e.g. ``components.model_version.
ModelVersionProvider``. ``pulumi destroy``, ``pulumi refresh`` and removing a model run the
provider unpickled from that state, so the module names the providers had before they moved to
``components/providers/`` must stay importable. ``MOVED_MODULES`` maps them to where the code
lives now; the finder below resolves an old name to the new module itself (the same module
object, so the same classes), and only when that name is imported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

# Old module name (recorded in existing stacks' state) -> the module that holds its code now.
MOVED_MODULES = {
    "components.model_version": "components.providers.model_version",
    "components.release_promotion": "components.providers.release_promotion",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module name of ``MOVED_MODULES`` as the module it moved to."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder; exec_module puts the real module in its place

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns whatever sys.modules holds under the name after exec_module
        # (importlib._bootstrap._load_unlocked), so the old name becomes the new module itself.
        sys.modules[module.__name__] = importlib.import_module(MOVED_MODULES[module.__name__])


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())
