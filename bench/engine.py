"""The dynamic-provider host as the Pulumi engine drives it, for benchmarks: a process, gRPC calls, protobuf Structs.

``pulumi up`` runs a dynamic provider in its own process (``python -m pulumi.dynamic``, started
by the pulumi-resource-pulumi-python plugin) and calls it over gRPC: Configure once, then Check,
Diff and Create per resource, with the props (the pickled provider under ``__provider``)
serialized into protobuf Structs. ``ProviderHost`` starts that same module and makes the same
calls, so a benchmark pays what the engine's provider calls pay: serialization, dill, the
provider's code, the publish. ``peak_rss``/``reset_peak`` read the host's VmHWM from /proc.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROVIDER_KEY = "__provider"


def _serialize(props: dict[str, Any]) -> Any:
    from pulumi.runtime import rpc

    return asyncio.run(rpc.serialize_properties(props, {}))


def _deserialize(struct: Any) -> dict[str, Any]:
    from pulumi.runtime import rpc

    return dict(rpc.deserialize_properties(struct, True))


class ProviderHost:
    """``python -m pulumi.dynamic`` on a loopback port, configured; call ``close()`` (or use ``with``)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        import grpc
        from pulumi.runtime.proto import provider_pb2_grpc

        child_env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO), "PULUMI_PROJECT": "triton-platform"}
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.dynamic"],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
            env=child_env,
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline().decode().strip())
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.configure()

    def __enter__(self) -> ProviderHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self.process.pid

    def configure(self) -> None:
        from google.protobuf import struct_pb2
        from pulumi.runtime.proto import provider_pb2

        self.stub.Configure(provider_pb2.ConfigureRequest(args=struct_pb2.Struct(), acceptSecrets=False))

    def check(self, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """Check's inputs (failures raise)."""
        from pulumi.runtime.proto import provider_pb2

        reply = self.stub.Check(provider_pb2.CheckRequest(urn=urn, olds=_serialize(olds), news=_serialize(news)))
        if reply.failures:
            raise RuntimeError(f"check failed: {[(f.property, f.reason) for f in reply.failures]}")
        return _deserialize(reply.inputs)

    def diff(self, urn: str, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """True when the provider reports changes."""
        from pulumi.runtime.proto import provider_pb2

        reply = self.stub.Diff(provider_pb2.DiffRequest(id="id", urn=urn, olds=_serialize(olds), news=_serialize(news)))
        return bool(reply.changes == provider_pb2.DiffResponse.DIFF_SOME)

    def noop_requests(self, urn: str, state: dict[str, Any], props: dict[str, Any]) -> tuple[Any, Any]:
        """The Check and Diff requests of a resource that did not change, serialized ahead (the engine's share)."""
        from pulumi.runtime.proto import provider_pb2

        inputs = self.check(urn, state, props)
        check = provider_pb2.CheckRequest(urn=urn, olds=_serialize(state), news=_serialize(props))
        diff = provider_pb2.DiffRequest(id="id", urn=urn, olds=_serialize(state), news=_serialize(inputs))
        return check, diff

    def check_and_diff(self, check: Any, diff: Any) -> bool:
        """Send prepared Check and Diff requests; True when the Diff reports changes."""
        from pulumi.runtime.proto import provider_pb2

        reply = self.stub.Check(check)
        if reply.failures:
            raise RuntimeError(f"check failed: {[(f.property, f.reason) for f in reply.failures]}")
        return bool(self.stub.Diff(diff).changes == provider_pb2.DiffResponse.DIFF_SOME)

    def create(self, urn: str, inputs: dict[str, Any], timeout: float = 3600) -> dict[str, Any]:
        """Create's outputs (what the engine keeps as the resource's state)."""
        from pulumi.runtime.proto import provider_pb2

        reply = self.stub.Create(
            provider_pb2.CreateRequest(urn=urn, properties=_serialize(inputs), timeout=timeout), timeout=timeout
        )
        return _deserialize(reply.properties)

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(field)

    def rss(self) -> int:
        """Resident set size now, bytes."""
        return self._status("VmRSS")

    def peak_rss(self) -> int:
        """Peak resident set size since the start or the last ``reset_peak``, bytes."""
        return self._status("VmHWM")

    def reset_peak(self) -> None:
        # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def close(self) -> None:
        self.channel.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def model_version_props(spec: Any, store: dict[str, Any], base_dir: Path, *, owner: str) -> dict[str, Any]:
    """What a ModelVersion registers: its props (the program's fingerprint included) and the pickled provider."""
    from pulumi.dynamic.dynamic import serialize_provider

    from components.providers.model_version import OUTPUT_KEYS, ModelVersionArgs, ModelVersionProvider
    from triton_platform.publisher.pipeline import source_fingerprint

    args = ModelVersionArgs(
        spec=spec,
        store=store,
        source_fingerprint=source_fingerprint(spec, base_dir),
        base_dir=str(base_dir),
        instance_kind="KIND_CPU",
        owner=owner,
    )
    props = args.props()
    props.update(dict.fromkeys(OUTPUT_KEYS))
    props[PROVIDER_KEY] = _provider_string(serialize_provider, ModelVersionProvider)
    return props


_PROVIDERS: dict[str, str] = {}


def _provider_string(serialize: Any, cls: type) -> str:
    # Pickled once per provider class, as the engine finds the same string in every resource.
    if cls.__name__ not in _PROVIDERS:
        _PROVIDERS[cls.__name__] = serialize(cls())
    return _PROVIDERS[cls.__name__]


def urn(name: str) -> str:
    return f"urn:pulumi:bench::triton-platform::pulumi-python:dynamic:Resource::{name}"
