"""``python -m triton_platform.release served``: end to end against moto and a fake ``pulumi`` on PATH.

The dev stack keeps two releases in a moto bucket (the real ModelVersion and ReleasePromotion
providers); the fake CLI (tests/triton_platform/release/test_promote.py: a test double of the
external CLI, there is no Pulumi CLI here) prints the stack's ``release`` output naming that
bucket. The command, run as a subprocess like deploy.yml runs it, marks the release in the
bucket's history (``servedAt``), leaves it alone when it already serves, keeps ``servedAt`` when
the stack keeps its next release, and on every bad input says what is wrong, exits 2, no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import servers
from tests.support.dev_stack import DevStack
from tests.support.stacks import REPO
from tests.triton_platform.release.test_promote import FakePulumi
from triton_platform.publisher.stores import open_store
from triton_platform.release.manifest import Release
from triton_platform.release.promotion import history_key, read_history, serving_digest

pytestmark = pytest.mark.integration

STACK = "staging"


def _served(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "triton_platform.release", "served", "--cwd", str(cwd), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.timeout(240)
def test_served_marks_the_release_and_refuses_bad_input(moto_env: servers.S3Endpoint, tmp_path: Path) -> None:
    dev = DevStack(servers.new_bucket(moto_env), tmp_path / "dev")
    r1 = dev.publish(seed=101)
    r2 = dev.publish(seed=202)
    store = open_store(dev.store_ref)
    fake = FakePulumi(tmp_path / "fake")
    fake.stack_outputs(STACK, {"release": Release.of(r2.manifest, dev.store_ref).to_output()})
    env = {**fake.env(), **moto_env.env()}

    done = _served(env, tmp_path, "--stack", STACK)
    assert done.returncode == 0, done.stderr
    assert f"release {r2.digest} serves 100 % of the traffic" in done.stdout
    history = read_history(store)
    assert serving_digest(history) == r2.digest
    assert history[0].servedAt is not None
    assert history[1].servedAt is None
    assert ["stack", "output", "--json", "--stack", STACK] in fake.calls()

    # Again: nothing written (the history object is not rewritten).
    before = store.stat(history_key(store))
    assert _served(env, tmp_path, "--stack", STACK).returncode == 0
    assert store.stat(history_key(store)) == before

    # A rollback rolled out: an older release the bucket keeps.
    back = _served(env, tmp_path, "--stack", STACK, "--digest", r1.digest)
    assert back.returncode == 0, back.stderr
    assert f"(the stack exports {r2.digest})" in back.stdout
    assert serving_digest(read_history(store)) == r1.digest

    # The stack keeps its next release: the history it writes keeps servedAt.
    r3 = dev.publish(seed=303)
    raw = json.loads(store.read_bytes(history_key(store)) or b"{}")
    assert [e.get("servedAt") is not None for e in raw["releases"]] == [False, True, True]
    assert serving_digest(read_history(store)) == r1.digest
    assert dev.kept is not None
    assert "servedAt" not in dev.kept["history"][0]

    # Bad input: a digest the bucket does not keep, a malformed one, an unknown stack, a stack without a release.
    _refused(_served(env, tmp_path, "--stack", STACK, "--digest", "sha256:" + "0" * 64), "does not keep release")
    _refused(_served(env, tmp_path, "--stack", STACK, "--digest", "sha256:nothex"), "sha256")
    _refused(_served(env, tmp_path, "--stack", "prod"), "no stack named")
    fake.stack_outputs("dev", {"clusterName": "dev"})
    _refused(_served(env, tmp_path, "--stack", "dev"), "exports no `release` output")
    fake.stack_outputs("old", {"release": Release.of(r3.manifest).to_output()})
    _refused(_served(env, tmp_path, "--stack", "old"), "names no store")
    assert serving_digest(read_history(store)) == r1.digest  # none of them changed anything


@pytest.mark.parametrize("via", ["cli", "automation"])
def test_without_the_pulumi_cli_served_says_what_to_install(tmp_path: Path, via: str) -> None:
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    result = _served({**os.environ, "PATH": str(bare)}, tmp_path, "--stack", STACK, "--via", via)
    _refused(result, "Pulumi CLI (`pulumi`) is not on PATH")


def test_a_missing_stack_argument_is_a_usage_error(tmp_path: Path) -> None:
    result = _served(dict(os.environ), tmp_path)
    assert result.returncode == 2
    assert "--stack" in result.stderr
    assert "Traceback" not in result.stderr
