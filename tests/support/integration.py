"""The ``integration`` marker says a test starts a real server: checked at collection and when one starts.

A test is ``integration`` when it starts a real server or emulator on 127.0.0.1 (moto, the GCS
emulator, Azurite, tritonserver, a loopback HTTP server), so ``-m "not integration"`` runs
nothing that listens on a port. Two checks keep the marker true:

- at collection, a test whose fixtures (directly or through other fixtures) include one of
  ``SERVER_FIXTURES`` must carry the marker, or the run stops naming the test and fixture;
- at run time, the server starters (``servers._serve``, ``triton.run_triton``) call
  ``require_integration`` so a test that starts one inline without the marker fails too.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable

import pytest

# Fixtures that start a server on 127.0.0.1, with where they are defined.
SERVER_FIXTURES: dict[str, str] = {
    # tests/support/stores.py (the old tests/integration/conftest.py), loaded by tests/conftest.py
    "moto_endpoint": "tests/support/stores.py: moto (S3)",
    "gcs_endpoint": "tests/support/stores.py: the GCS emulator",
    "azurite_endpoint": "tests/support/stores.py: Azurite",
    "make_store": "tests/support/stores.py: the emulator of the kind asked for",
    # module fixtures of single test files
    "moto": "a module's own moto (S3) server",
    "api_server": "tests/components/test_kubeconfig_file.py: a loopback Kubernetes API stand-in",
    "azurite_tls": "tests/triton_platform/sidecars/test_azure_model_sync.py: Azurite over HTTPS + a token endpoint",
    "analyzer": "tests/policy/test_pack.py: the policy pack's Analyzer gRPC server",
    "arm": "tests/stacks/test_versions.py: a loopback Azure Resource Manager (AKS kubernetesVersions)",
}

MARKER = "integration"

# The test being set up, run or torn down (set by tests/conftest.py), None outside pytest.
_current: pytest.Item | None = None


def _is_integration(item: pytest.Item) -> bool:
    return item.get_closest_marker(MARKER) is not None


def unmarked_server_tests(items: Iterable[pytest.Item]) -> list[str]:
    """``"<nodeid> uses <fixture> (<what>)"`` for each test that starts a server without the marker."""
    found = []
    for item in items:
        names = getattr(item, "fixturenames", ())
        used = [name for name in names if name in SERVER_FIXTURES]
        if used and not _is_integration(item):
            found.append(f"{item.nodeid} uses {used[0]} ({SERVER_FIXTURES[used[0]]})")
    return found


def check_collection(items: Iterable[pytest.Item]) -> None:
    """Stop the run, naming each test, when a server-starting test lacks the marker."""
    offenders = unmarked_server_tests(items)
    if offenders:
        raise pytest.UsageError(
            "tests that start a real server must be marked @pytest.mark.integration "
            "(or the module's pytestmark):\n  " + "\n  ".join(offenders)
        )


def require_integration(what: str) -> None:
    """Fail the current test when it starts ``what`` without the integration marker."""
    if _current is not None and not _is_integration(_current):
        pytest.fail(f"{_current.nodeid} starts {what} but is not marked @pytest.mark.integration", pytrace=False)


def running(item: pytest.Item) -> Generator[None, None, None]:
    """Make ``item`` the current test while its phase runs (a hook wrapper's body)."""
    global _current
    _current = item
    try:
        yield
    finally:
        _current = None
