"""triton-platform: one typed stack config -> cluster, bucket, monitoring, models, Triton.

A mistake of the user's (a bad configuration, a pinned release that does not fit the stack, a
model source or bucket that cannot be read) is raised as ``pulumi.RunError``: Pulumi's Python
language host prints a RunError's message alone, and any other exception with a full traceback
around it (pulumi/pulumi ``sdk/python/cmd/pulumi-language-python-exec``: ``except
pulumi.RunError: pulumi.log.error(str(e))``, else ``traceback.format_exc()``).
"""

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi

from triton_platform.process import prepare_for_one_evaluation

# First, before the imports below build the config models: this process evaluates the program
# once and exits (no garbage collection, no pydantic plugin search; triton_platform/process/evaluation.py).
prepare_for_one_evaluation()

from stacks import build_stack  # noqa: E402
from stacks.release import resolve_upstream  # noqa: E402
from stacks.versions import check_kubernetes_version  # noqa: E402
from triton_platform.config import ConfigError, load_config  # noqa: E402
from triton_platform.publisher.errors import PublisherError  # noqa: E402
from triton_platform.release.manifest import ReleaseError  # noqa: E402

BASE_DIR = Path(__file__).resolve().parent
# The user's mistakes, each with a message that says what to fix; anything else is a bug, and its
# traceback helps.
USER_ERRORS = (ConfigError, ReleaseError, PublisherError)


@contextlib.contextmanager
def reported_as_run_error() -> Iterator[None]:
    """A user's mistake raised in the block is re-raised as pulumi.RunError (printed without a traceback)."""
    try:
        yield
    except USER_ERRORS as err:
        raise pulumi.RunError(str(err)) from None


with reported_as_run_error():
    config = load_config(BASE_DIR)  # fails before any resource is registered if the config is bad


async def main() -> dict[str, Any]:
    with reported_as_run_error():
        # The cloud must offer cluster.kubernetesVersion where the stack deploys (asked through the
        # providers' functions, which register nothing).
        await check_kubernetes_version(config)
        # A pinned release (triton-platform:release) is read from its stack and checked next: a wrong
        # digest, Triton release or missing engine fails before any other resource is registered.
        await resolve_upstream(config)
        return build_stack(config, BASE_DIR)


# The entrypoint is awaited after this module ran; its result is exported (pulumi/runtime/stack.py).
pulumi.run(main)
