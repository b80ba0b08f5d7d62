"""The dynamic providers stay loadable from the state written before they moved to components/providers/.

Pulumi keeps each dynamic resource's provider in its state as ``__provider``: the provider pickled
by dill (pulumi/dynamic/dynamic.py ``serialize_provider``: ``dill.dumps(provider, recurse=True)``,
base64), which records an importable class by reference, module and name. ``pulumi destroy`` and
``pulumi refresh`` run the provider the provider host unpickles from that state
(pulumi/dynamic/__main__.py ``get_provider``: ``_deserialize(lambda: dill.loads(b64decode(...)))``).
So the bytes existing stacks hold name ``components.model_version`` and
``components.release_promotion``; these tests make such bytes with Pulumi's own serializer (the
class registered under its old module name, as it was) and load them in a fresh interpreter the
way the provider host does.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.support.stacks import REPO

# The provider as an existing stack's state recorded it: its class under the old module name.
SERIALIZE = textwrap.dedent(
    """
    import importlib, sys, types
    import pulumi.dynamic
    from pulumi.dynamic.dynamic import serialize_provider

    module, name = sys.argv[1], sys.argv[2]
    package, _, leaf = module.rpartition(".")
    old = types.ModuleType(module)
    cls = type(name, (pulumi.dynamic.ResourceProvider,), {"serialize_as_secret_always": False, "__module__": module})
    setattr(old, name, cls)
    # Where the import system put the old module: in sys.modules and on its package.
    sys.modules[module] = old
    setattr(importlib.import_module(package), leaf, old)
    provider = cls()
    provider._builder = None  # ReleasePromotionProvider's one attribute
    print(serialize_provider(provider))
    """
)

# What the provider host does with the state's ``__provider`` value.
DESERIALIZE = textwrap.dedent(
    """
    import base64, sys
    import dill
    from pulumi.runtime._serialization import _deserialize

    provider = _deserialize(lambda: dill.loads(base64.b64decode(sys.stdin.read().strip())))
    cls = type(provider)
    print(cls.__module__, cls.__qualname__, sorted(vars(provider)))
    """
)


def _python(code: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("old_module", "name", "new_module"),
    [
        ("components.model_version", "ModelVersionProvider", "components.providers.model_version"),
        ("components.release_promotion", "ReleasePromotionProvider", "components.providers.release_promotion"),
    ],
)
def test_a_provider_pickled_under_its_old_module_loads_as_the_moved_class(
    old_module: str, name: str, new_module: str
) -> None:
    pickled = _python(SERIALIZE, old_module, name)
    import base64

    # By reference, as dill pickles an importable class: the old module's name is in the bytes.
    assert old_module.encode() in base64.b64decode(pickled)
    assert new_module.encode() not in base64.b64decode(pickled)
    loaded = _python(DESERIALIZE, stdin=pickled)
    assert loaded == f"{new_module} {name} ['_builder']"


def test_old_module_names_are_the_moved_modules_and_only_load_when_asked() -> None:
    code = textwrap.dedent(
        """
        import sys
        import components
        assert "components.providers.model_version" not in sys.modules  # nothing imported until asked
        import components.model_version as old
        import components.providers.model_version as new
        from components.release_promotion import ReleasePromotionProvider
        import components.providers.release_promotion as promotion
        assert old is new and ReleasePromotionProvider is promotion.ReleasePromotionProvider
        assert old.__spec__.name == "components.providers.model_version"  # the moved module, untouched
        try:
            import components.not_a_module
        except ModuleNotFoundError:
            print("ok")
        """
    )
    assert _python(code) == "ok"
