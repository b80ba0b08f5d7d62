"""``__main__.py`` run the way Pulumi's Python language host runs it, under the mock runtime.

The language host (pulumi/pulumi ``sdk/python/cmd/pulumi-language-python-exec``) does::

    coro = pulumi.runtime.run_in_stack(lambda: runpy.run_path(args.PROGRAM, run_name='__main__'))
    loop.run_until_complete(coro)
    ...
    except pulumi.RunError as e:
        pulumi.log.error(str(e))                 # the message alone
    except Exception:
        pulumi.log.error(traceback.format_exc())  # a full traceback around it

``run_in_stack`` (pulumi/runtime/stack.py) runs the module, then awaits its ``pulumi.run``
entrypoint and exports what it returns. So a user's mistake must reach it as a RunError, and the
tests here drive exactly that path: the module, the entrypoint, the exports.
"""

from __future__ import annotations

import asyncio
import gc
import os
import runpy
import traceback
from pathlib import Path
from typing import Any

import pulumi
import pytest
from google.protobuf import json_format
from pulumi.runtime import settings

from tests.support.pulumi_mocks import RecordingMocks
from tests.support.stacks import REPO, fresh_interpreter, set_pulumi_config, stack_config

PROGRAM = REPO / "__main__.py"
PLUGINS_SETTING = "PYDANTIC_DISABLE_PLUGINS"


@pytest.fixture
def pulumi_stack() -> str:
    return "dev"


def _run_program() -> None:
    runpy.run_path(str(PROGRAM), run_name="__main__")


def _event_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        return loop


class LanguageHost:
    """Runs the program as pulumi-language-python-exec does, and keeps what it would print."""

    def __init__(self, mocks: RecordingMocks) -> None:
        self.mocks = mocks
        self.exports: dict[str, Any] = {}
        monitor: Any = settings.get_monitor()
        register_outputs = monitor.RegisterResourceOutputs

        def record(request: Any) -> Any:
            if request.urn.endswith("::pulumi:pulumi:Stack::triton-platform-dev"):
                self.exports = json_format.MessageToDict(request.outputs)
            return register_outputs(request)

        monitor.RegisterResourceOutputs = record

    def run(self) -> tuple[str | None, bool]:
        """(the error the host would log, whether it would print a traceback)."""
        # The mocks made a root Stack already; run_in_stack makes the program's own, as under `pulumi up`.
        settings.ROOT.set(None)
        plugins_setting = os.environ.get(PLUGINS_SETTING)
        try:
            # The loop the mocks registered their Stack on (as pulumi.runtime.sync_await finds it).
            _event_loop().run_until_complete(pulumi.runtime.run_in_stack(_run_program))
        except pulumi.RunError as err:
            return str(err), False
        except Exception:  # what the language host prints for any other exception
            return traceback.format_exc(), True
        finally:
            # The program sets up its process (triton_platform/process/evaluation.py), which here is
            # pytest's: the tests after this one collect garbage and see the environment as it was.
            gc.enable()
            if plugins_setting is None:
                os.environ.pop(PLUGINS_SETTING, None)
        return None, False


def test_a_good_dev_config_registers_the_stack_and_exports_its_outputs(
    mocks: RecordingMocks, samples_built: Path
) -> None:
    host = LanguageHost(mocks)
    set_pulumi_config(stack_config("dev"))
    error, traceback_printed = host.run()
    assert (error, traceback_printed) == (None, False), error
    kinds = {r.type for r in mocks.resources}
    assert {"triton:serving:TritonServer", "triton:publisher:ModelPublisher", "kubernetes:helm.sh/v3:Release"} <= kinds
    for name in ("tritonHttp", "tritonGrpc", "kubeconfig", "release", "publishedModels"):
        assert name in host.exports, sorted(host.exports)


def test_a_bad_config_is_a_run_error_naming_the_keys_and_registers_nothing(
    mocks: RecordingMocks, samples_built: Path
) -> None:
    raw = stack_config("dev")
    raw["triton"] = {**raw["triton"], "replicas": 0, "replica": 2}
    raw["gpu"] = {"migStrategy": "single"}
    set_pulumi_config(raw)
    error, traceback_printed = LanguageHost(mocks).run()
    assert not traceback_printed, error
    assert error is not None
    assert error.startswith("invalid configuration of stack 'dev' (3 problems):"), error
    for key in ("triton.replicas", "triton.replica", "gpu"):
        assert f"triton-platform:{key}:" in error, error
    assert mocks.resources == []


def test_a_pinned_release_the_upstream_lacks_is_a_run_error(mocks: RecordingMocks, samples_built: Path) -> None:
    # stacks.release.resolve_upstream, awaited by the entrypoint: the upstream exports no release.
    raw = stack_config("dev")
    raw.pop("models")
    raw["release"] = {"fromStack": "acme/triton-platform/staging", "digest": "sha256:" + "0" * 64}
    set_pulumi_config(raw)
    error, traceback_printed = LanguageHost(mocks).run()
    assert not traceback_printed, error
    assert error is not None
    assert "triton-platform:release.fromStack" in error, error
    assert [r.type for r in mocks.resources] == ["pulumi:pulumi:StackReference"]


def test_a_publisher_error_at_program_time_is_a_run_error(
    mocks: RecordingMocks, samples_built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The ModelPublisher fingerprints a local source while the program runs; a source that cannot be
    # read then (it vanished, or is unreadable) is a ModelSourceError.
    from components.publisher import model_publisher
    from triton_platform.publisher.errors import ModelSourceError

    def unreadable(spec: Any, *args: Any) -> str:
        raise ModelSourceError("cannot be read: Permission denied", model=spec.name, key="models[].source")

    monkeypatch.setattr(model_publisher, "source_fingerprint", unreadable)
    set_pulumi_config(stack_config("dev"))
    error, traceback_printed = LanguageHost(mocks).run()
    assert not traceback_printed, error
    assert error == "model 'sample-mlp': models[].source: cannot be read: Permission denied", error


def test_a_publisher_error_in_an_apply_is_a_run_error(
    mocks: RecordingMocks, samples_built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A URI source is fingerprinted once the store is known: in an apply, after the entrypoint
    # returned, so the error reaches the language host from the runtime's wait for outputs.
    from components.publisher import model_publisher
    from triton_platform.publisher.errors import ModelSourceError

    def missing(spec: Any, *args: Any) -> str:
        raise ModelSourceError(f"{spec.source!r} does not exist", model=spec.name, key="models[].source")

    monkeypatch.setattr(model_publisher, "source_fingerprint", missing)
    raw = stack_config("dev")
    raw["models"] = [{**raw["models"][0], "source": "s3://triton-models/incoming/model.onnx"}]
    set_pulumi_config(raw)
    error, traceback_printed = LanguageHost(mocks).run()
    assert not traceback_printed, error
    assert error == "model 'sample-mlp': models[].source: 's3://triton-models/incoming/model.onnx' does not exist"


# The language host's run of __main__.py in a fresh interpreter (as in bench/program_eval.py), then
# what the program left of its process: the garbage collector's state and whether pydantic ever
# searched the installed distributions for plugins.
_FRESH_HOST = """
import asyncio, gc, json, runpy, sys
import pulumi
from pulumi.runtime import settings
from pydantic.plugin import _loader
from tests.support.pulumi_mocks import RecordingMocks
RecordingMocks().install("dev")
settings.ROOT.set(None)
loop = asyncio.get_event_loop()
loop.run_until_complete(pulumi.runtime.run_in_stack(lambda: runpy.run_path(sys.argv[1], run_name="__main__")))
print(json.dumps({"gc": gc.isenabled(), "plugins_searched": _loader._plugins is not None}))
"""


def test_the_program_sets_up_its_process_before_it_builds_a_model(samples_built: Path) -> None:
    # triton_platform/process/evaluation.py must run before the first pydantic model is built (the
    # config's, at import): a model built earlier would have searched for plugins already.
    seen = fresh_interpreter(_FRESH_HOST, str(PROGRAM), unset=(PLUGINS_SETTING,))
    assert seen == {"gc": False, "plugins_searched": False}
