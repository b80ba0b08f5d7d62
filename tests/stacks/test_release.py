"""The `release` config key under Pulumi's mock runtime, with a mocked StackReference to the upstream.

A stack that pins ``release: {fromStack, digest}`` reads the upstream's ``release`` output and
refuses, before any resource other than the StackReference is registered, a digest that is not
the pinned one, a release without an engine for its GPU, another Triton release; ``models`` with
``release`` is refused by the config itself. A good pin promotes exactly the upstream's release.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pulumi
import pytest

from components.providers.props import store_props
from stacks import build_stack
from stacks.release import UPSTREAM_RESOURCE, deploy_release, resolve_upstream
from tests.support.configs import SAMPLE_MLP, raw_config
from tests.support.configs import gke_a100 as _gcp  # a GKE stack on A100 (compute capability 8.0)
from tests.support.pulumi_mocks import RecordingMocks
from tests.support.release import UPSTREAM, UPSTREAM_STORE, sha_of, upstream_release
from tests.support.stacks import REPO
from triton_platform.config import ConfigError, PlatformConfig, parse_config
from triton_platform.publisher.builders import BuilderRef
from triton_platform.publisher.stores import StoreRef
from triton_platform.release.manifest import Release

STACK_REF = "pulumi:pulumi:StackReference"
# The upstream's store as the promotion's props carry it (what stacks.release parsed from its output).
UPSTREAM_PROPS = store_props(StoreRef.model_validate(UPSTREAM_STORE))


@pytest.fixture
def mocks() -> RecordingMocks:
    m = RecordingMocks()
    m.install(stack="staging")
    return m


def _run(program: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Run an async program (as ``pulumi.run`` does) under the mock runtime; its outputs resolved."""
    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def _test() -> pulumi.Output[Any]:
        async def go() -> None:
            outputs = await program()
            for key, value in outputs.items():
                result[key] = await pulumi.Output.from_input(value).future()

        return pulumi.Output.from_input(go())

    _test()
    return result


def _program(cfg: PlatformConfig) -> Callable[[], Awaitable[dict[str, Any]]]:
    # The program's entrypoint: check the upstream release first, then compose the stack.
    async def main() -> dict[str, Any]:
        await resolve_upstream(cfg)
        return build_stack(cfg, REPO)

    return main


def _config(release: Release, **pin: Any) -> PlatformConfig:
    return parse_config(
        _gcp(release={"fromStack": UPSTREAM, "digest": release.digest, **pin}), base_dir=REPO, stack="staging"
    )


def _refused(mocks: RecordingMocks, cfg: PlatformConfig) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        _run(_program(cfg))
    # Nothing but the read of the upstream stack reached the engine.
    assert [(r.type, r.name) for r in mocks.resources] == [(STACK_REF, UPSTREAM_RESOURCE)], mocks.dump()
    return info.value


def test_a_digest_other_than_the_pinned_one_is_refused_naming_both_and_the_upstream(mocks: RecordingMocks) -> None:
    exported = upstream_release("8.0")
    mocks.stack_outputs[UPSTREAM] = {"release": exported.to_output()}
    pinned = upstream_release("8.0", "9.0")
    err = _refused(mocks, _config(pinned))
    assert err.keys == ["triton-platform:release.digest"]
    message = str(err)
    assert pinned.digest in message
    assert exported.digest in message
    assert UPSTREAM in message


def test_a_release_without_an_engine_for_this_gpu_is_refused_with_how_to_add_it(mocks: RecordingMocks) -> None:
    exported = upstream_release("8.6")  # A10G engines only; this stack runs A100 (8.0)
    mocks.stack_outputs[UPSTREAM] = {"release": exported.to_output()}
    err = _refused(mocks, _config(exported))
    assert err.keys == ["triton-platform:release"]
    message = str(err)
    assert "compute capability '8.0'" in message
    assert f"publisher.computeCapabilities of {UPSTREAM}" in message
    assert "buildMissingEngines" in message


def test_another_triton_release_is_refused(mocks: RecordingMocks) -> None:
    exported = upstream_release("8.0", triton="24.12")
    mocks.stack_outputs[UPSTREAM] = {"release": exported.to_output()}
    err = _refused(mocks, _config(exported))
    assert err.keys == ["triton-platform:triton.version"]
    assert "'24.12'" in str(err)


def test_an_upstream_without_a_release_output_is_refused(mocks: RecordingMocks) -> None:
    mocks.stack_outputs[UPSTREAM] = {"clusterName": "dev"}
    err = _refused(mocks, _config(upstream_release("8.0")))
    assert err.keys == ["triton-platform:release.fromStack"]
    assert "exports no `release` output" in str(err)


def test_models_and_release_together_are_refused_before_anything(mocks: RecordingMocks) -> None:
    raw = _gcp(
        release={"fromStack": UPSTREAM, "digest": upstream_release("8.0").digest},
        models=[{"name": "mlp", "source": "samples/sample-mlp/model.onnx", "format": "onnx"}],
    )

    async def main() -> dict[str, Any]:
        cfg = parse_config(raw, base_dir=REPO, stack="staging")
        await resolve_upstream(cfg)
        return build_stack(cfg, REPO)

    with pytest.raises(ConfigError) as info:
        _run(main)
    assert "triton-platform:release" in info.value.keys
    assert "not both" in str(info.value)
    assert mocks.resources == []


@pytest.mark.parametrize(
    ("pin", "key"),
    [
        ({"fromStack": "dev", "digest": "sha256:" + "0" * 64}, "release.fromStack"),
        ({"fromStack": UPSTREAM, "digest": "latest"}, "release.digest"),
        ({"fromStack": UPSTREAM, "digest": "sha256:" + "0" * 64, "autoPromote": True}, "release.autoPromote"),
        ({"fromStack": UPSTREAM, "digest": "sha256:" + "0" * 63}, "release.digest"),
        (
            {"fromStack": UPSTREAM, "digest": "sha256:" + "0" * 64, "buildMissingEngines": "maybe"},
            "release.buildMissingEngines",
        ),
        ({"digest": "sha256:" + "0" * 64}, "release.fromStack"),
    ],
)
def test_bad_release_keys_are_named(pin: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_gcp(release=pin), base_dir=REPO, stack="staging")
    assert f"triton-platform:{key}" in info.value.keys, str(info.value)


def test_a_good_pin_promotes_exactly_the_upstream_release(mocks: RecordingMocks) -> None:
    exported = upstream_release("8.0")
    mocks.stack_outputs[UPSTREAM] = {"release": exported.to_output()}
    cfg = _config(exported)
    store = StoreRef(kind="gcs", bucket="acme-staging-models", prefix="models", cache_prefix="_cache")

    async def main() -> dict[str, Any]:
        upstream = await resolve_upstream(cfg)
        assert upstream is not None
        return deploy_release("staging", cfg, store, publisher=None, upstream=upstream).outputs

    outputs = _run(main)
    (promotion,) = mocks.of_type("pulumi-python:dynamic/triton:ReleasePromotion")
    assert promotion.name == "staging-release"
    assert promotion.inputs["mode"] == "promote"
    assert promotion.inputs["digest"] == exported.digest
    assert promotion.inputs["from_stack"] == UPSTREAM
    assert promotion.inputs["source_store"] == UPSTREAM_PROPS
    assert promotion.inputs["target_store"] == store_props(store)
    # The promoted stack's release is the upstream's, digest for digest.
    assert outputs["release"]["digest"] == exported.digest
    assert Release.parse(outputs["release"], where="staging").manifest == exported.manifest


def test_with_a_good_pin_the_stack_is_composed_after_the_check(mocks: RecordingMocks) -> None:
    # The control for the refusals above: the same program registers the whole stack once the check passed.
    exported = upstream_release("8.0")
    mocks.stack_outputs[UPSTREAM] = {"release": exported.to_output()}
    _run(_program(_config(exported)))
    assert (mocks.resources[0].type, mocks.resources[0].name) == (STACK_REF, UPSTREAM_RESOURCE)
    assert {"gcp:container/cluster:Cluster", "kubernetes:helm.sh/v3:Release"} <= {r.type for r in mocks.resources}
    # The stack promotes instead of publishing: no ModelVersion, one ReleasePromotion Triton waits for.
    assert not mocks.of_type("pulumi-python:dynamic/triton:ModelVersion")
    (promotion,) = mocks.of_type("pulumi-python:dynamic/triton:ReleasePromotion")
    assert promotion.inputs["mode"] == "promote"
    assert promotion.inputs["digest"] == exported.digest
    assert promotion.inputs["source_store"] == UPSTREAM_PROPS
    assert promotion.inputs["target_store"]["kind"] == "gcs"
    # The TritonServer component waits for the promotion (its model repository written, configs last).
    assert promotion.name in mocks.dependency_names("staging-triton")


class PublishedMocks(RecordingMocks):
    """RecordingMocks whose ModelVersions come back published (the provider is not called under mocks)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id, outputs = super().new_resource(args)
        if args.typ == "pulumi-python:dynamic/triton:ModelVersion":
            outputs.update(
                version=2,
                config_sha256=sha_of("config"),
                files=[{"path": "model.onnx", "size": 4, "sha256": args.inputs["source_fingerprint"]}],
                engine_objects={},
            )
        return resource_id, outputs


def test_a_publishing_stack_keeps_and_exports_its_release() -> None:
    from components.publisher.model_publisher import ModelPublisher, ModelPublisherArgs
    from triton_platform.publisher.spec import ModelSpec

    mocks = PublishedMocks()
    mocks.install(stack="dev")
    cfg = parse_config(raw_config("local", name="triton-dev", models=[SAMPLE_MLP]), base_dir=REPO, stack="dev")
    store = StoreRef(kind="s3", bucket="dev-models", endpoint_url="http://127.0.0.1:9000")

    async def main() -> dict[str, Any]:
        assert await resolve_upstream(cfg) is None
        publisher = ModelPublisher(
            "dev-models",
            ModelPublisherArgs(
                models=[ModelSpec.model_validate(m.model_dump()) for m in cfg.models], store=store, base_dir=str(REPO)
            ),
        )
        return deploy_release("dev-models", cfg, store, publisher=publisher).outputs

    outputs = _run(main)
    (kept,) = mocks.of_type("pulumi-python:dynamic/triton:ReleasePromotion")
    assert kept.inputs["mode"] == "publish"
    assert kept.inputs["source_store"] == kept.inputs["target_store"] == store_props(store)
    # Kept only after the models are published.
    assert "dev-models-sample-mlp" in mocks.dependency_names("dev-models-release")
    assert mocks.parent_of("dev-models-release").endswith("::dev-models")
    release = Release.parse(outputs["release"], where="dev")
    assert kept.inputs["digest"] == release.digest
    (model,) = release.manifest.models
    assert (model.name, model.format, model.version) == ("sample-mlp", "onnx", 2)
    assert release.store == store_props(store)
    assert not [r for r in mocks.resources if r.type == STACK_REF]


def _promotion_props(release: Release, **over: Any) -> dict[str, Any]:
    from components.providers.release_promotion import ReleasePromotionArgs
    from tests.support.fakes import wire_floats

    args = ReleasePromotionArgs(
        mode="promote",
        digest=release.digest,
        manifest=release.manifest.to_json(),
        source_store=UPSTREAM_STORE,
        target_store={"kind": "gcs", "bucket": "acme-staging-models"},
        from_stack=UPSTREAM,
    )
    return wire_floats({**args.props(), **over})


def test_the_provider_checks_the_digest_and_diffs_on_what_changes_what_is_served() -> None:
    from components.providers.release_promotion import ReleasePromotionProvider

    provider = ReleasePromotionProvider()
    r1, r2 = upstream_release("8.0"), upstream_release("8.0", "9.0")
    props = _promotion_props(r1)
    assert provider.check({}, props).failures == []
    altered = _promotion_props(r1, digest=r2.digest)
    (failure,) = provider.check({}, altered).failures
    assert "not the digest of its manifest" in failure.reason
    assert not provider.diff("id", props, _promotion_props(r1)).changes
    newer = provider.diff("id", props, _promotion_props(r2))
    assert newer.changes
    assert newer.replaces == []
    moved = provider.diff("id", props, _promotion_props(r1, target_store={"kind": "gcs", "bucket": "other-models"}))
    assert moved.replaces == ["target_store"]


def test_rolling_back_pins_an_older_digest_the_upstream_keeps(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stacks.release

    older, exported = upstream_release("8.0"), upstream_release("8.0", "9.0")
    history = [{"digest": exported.digest, "promotedAt": "t2"}, {"digest": older.digest, "promotedAt": "t1"}]
    mocks.stack_outputs[UPSTREAM] = {"release": exported.to_output(), "releaseHistory": history}
    # The upstream bucket's copy of the older manifest (read from its store by the program).
    read: list[tuple[str, str]] = []

    def fetch(store: StoreRef, digest: str) -> bytes | None:
        read.append((store.bucket, digest))
        return older.manifest.canonical() if digest == older.digest else None

    monkeypatch.setattr(stacks.release, "_fetch_manifest", fetch)
    cfg = _config(older)

    async def main() -> dict[str, Any]:
        upstream = await resolve_upstream(cfg)
        assert upstream is not None
        assert upstream.release.digest == older.digest
        store = StoreRef(kind="gcs", bucket="acme-staging-models")
        return deploy_release("staging-models", cfg, store, publisher=None, upstream=upstream).outputs

    outputs = _run(main)
    assert read == [(UPSTREAM_STORE["bucket"], older.digest)]
    (promotion,) = mocks.of_type("pulumi-python:dynamic/triton:ReleasePromotion")
    assert promotion.inputs["digest"] == older.digest
    assert outputs["release"]["digest"] == older.digest


# --- release.buildMissingEngines ------------------------------------------------------------------


def _rebuildable_release(*capabilities: str) -> Release:
    """``upstream_release`` as publishers record it since issue 9: with the ONNX sha256 and build options."""
    from triton_platform.publisher.fingerprint import build_options
    from triton_platform.publisher.spec import ModelSpec

    spec = ModelSpec(name="resnet50", source="models/resnet50.onnx", format="tensorrt", precision="fp16")
    return upstream_release(*capabilities, onnx_sha256=sha_of("onnx"), build_options=build_options(spec))


def test_build_missing_engines_lets_the_stack_register_and_wires_the_builder(mocks: RecordingMocks) -> None:
    exported = _rebuildable_release("8.6")  # A10G engines only; this stack runs A100 (8.0)
    mocks.stack_outputs[UPSTREAM] = {"release": exported.to_output()}
    cfg = _config(exported, buildMissingEngines=True)
    _run(_program(cfg))
    # No refusal: the whole stack is registered after the check, the promotion included.
    assert {"gcp:container/cluster:Cluster", "kubernetes:helm.sh/v3:Release"} <= {r.type for r in mocks.resources}
    (promotion,) = mocks.of_type("pulumi-python:dynamic/triton:ReleasePromotion")
    assert promotion.inputs["mode"] == "promote"
    assert promotion.inputs["digest"] == exported.digest
    assert promotion.inputs["build_missing_engines"] is True
    assert promotion.inputs["compute_capabilities"] == cfg.compute_capabilities == ["8.0"]
    # The stack's own builder: a Job on its GPU pool as the builder ServiceAccount, one architecture per engine.
    builder = promotion.inputs["builder"]
    assert builder["kind"] == "kubernetes"
    assert builder["service_account"] == "triton-engine-builder"
    assert builder["namespace"] == cfg.triton.namespace
    assert builder["compute_capability_selectors"]
    service_accounts = [
        r
        for r in mocks.of_type("kubernetes:core/v1:ServiceAccount")
        if r.inputs["metadata"]["name"] == builder["service_account"]
    ]
    assert len(service_accounts) == 1
    # The promotion (and with it the build) waits for that ServiceAccount and its bucket access;
    # Triton waits for the promotion.
    assert {service_accounts[0].name, "staging-identity-builder-objects"} <= mocks.dependency_names(promotion.name)
    assert promotion.name in mocks.dependency_names("staging-triton")


def test_without_the_flag_the_same_release_is_refused_naming_the_cc_and_how_to_add_it(mocks: RecordingMocks) -> None:
    exported = _rebuildable_release("8.6")
    mocks.stack_outputs[UPSTREAM] = {"release": exported.to_output()}
    err = _refused(mocks, _config(exported))
    assert err.keys == ["triton-platform:release"]
    message = str(err)
    assert "compute capability '8.0'" in message
    assert f"add '8.0' to publisher.computeCapabilities of {UPSTREAM}" in message
    assert "publish there and promote the new digest" in message
    assert "buildMissingEngines: true" in message


def test_build_missing_engines_refuses_a_release_that_records_no_onnx(mocks: RecordingMocks) -> None:
    exported = upstream_release("8.6")  # published before releases kept their ONNX
    mocks.stack_outputs[UPSTREAM] = {"release": exported.to_output()}
    err = _refused(mocks, _config(exported, buildMissingEngines=True))
    assert err.keys == ["triton-platform:release.buildMissingEngines"]
    assert "records no ONNX" in str(err)
    assert "'8.0'" in str(err)


def test_a_promoting_stack_with_every_engine_builds_nothing_and_exports_the_upstream_digest(
    mocks: RecordingMocks,
) -> None:
    exported = _rebuildable_release("8.0")
    mocks.stack_outputs[UPSTREAM] = {"release": exported.to_output()}
    cfg = _config(exported, buildMissingEngines=True)
    store = StoreRef(kind="gcs", bucket="acme-staging-models")

    async def main() -> dict[str, Any]:
        upstream = await resolve_upstream(cfg)
        assert upstream is not None
        return deploy_release(
            "staging", cfg, store, publisher=None, upstream=upstream, builder=BuilderRef(kind="local")
        ).outputs

    outputs = _run(main)
    assert outputs["release"]["digest"] == exported.digest


def test_a_rollback_under_canary_serves_the_older_release_from_its_own_location(
    mocks: RecordingMocks, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18 item 5: pinning an older digest the upstream keeps goes through the same canary:
    the location of the older release is copied (ReleaseLocation) and the pods' template names it."""
    import stacks.release

    older, exported = upstream_release("8.0"), upstream_release("8.0", "9.0")
    history = [{"digest": exported.digest, "promotedAt": "t2"}, {"digest": older.digest, "promotedAt": "t1"}]
    mocks.stack_outputs[UPSTREAM] = {"release": exported.to_output(), "releaseHistory": history}
    monkeypatch.setattr(
        stacks.release, "_fetch_manifest", lambda _s, d: older.manifest.canonical() if d == older.digest else None
    )
    canary = {
        "triton": {
            "rollout": {"strategy": "canary"},
            "gateway": {"enabled": True, "internal": True},
            "service": {"type": "ClusterIP"},
        },
        "monitoring": {"enabled": True},
    }
    raw = _gcp(release={"fromStack": UPSTREAM, "digest": older.digest}, **canary)
    outputs = _run(_program(parse_config(raw, base_dir=REPO, stack="staging")))
    assert outputs["release"]["digest"] == older.digest
    (location,) = mocks.of_type("pulumi-python:dynamic/triton:ReleaseLocation")
    assert location.inputs["digest"] == older.digest
    assert "staging-models-release" in mocks.dependency_names(location.name)
    values = mocks.release("charts/triton-inference-server").inputs["values"]
    hex_ = older.digest.removeprefix("sha256:")
    bucket = outputs["release"]["store"]["bucket"]
    assert values["modelRepository"]["uri"] == f"gs://{bucket}/_cache/releases/served/{hex_}"
    assert values["rollout"]["release"] == older.digest
    assert values["triton"]["modelControlMode"] == "none"
    # The exported release being rolled out is the older one (None under the mocks until the provider ran).
    assert "releaseRollingOut" in outputs
