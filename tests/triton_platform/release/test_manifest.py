"""The release manifest: canonical JSON, a deterministic digest (golden), any changed byte a new one."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.support.fakes import wire_floats
from triton_platform.release.manifest import (
    Release,
    ReleaseError,
    ReleaseManifest,
    digest_hex,
    manifest_from_published,
    missing_engines,
    pinned_release,
    release_problems,
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# The build options of resnet50's engines, as fingerprint.build_options gives them for its spec
# (checked below against the function itself): what the engine key is taken over.
RESNET_OPTIONS: dict[str, Any] = {
    "precision": "fp16",
    "max_batch_size": 8,
    "shapes": {"input": {"min": [1, 3, 224, 224], "opt": [8, 3, 224, 224], "max": [8, 3, 224, 224]}},
    "workspace_mb": 4096,
    "hardware_compatibility": "none",
    "calibration_cache_sha256": None,
}


def _published(*, rebuild_inputs: bool = True) -> list[dict[str, Any]]:
    """Two ModelVersion outputs as the provider returns them: an ONNX model and a two-architecture TensorRT one.

    ``rebuild_inputs=False``: the TensorRT model as a publisher before issue 9's rebuild recorded it
    (no ``onnx_sha256`` / ``build_options`` outputs).
    """
    extra = {"onnx_sha256": _sha("resnet50.onnx"), "build_options": RESNET_OPTIONS} if rebuild_inputs else {}
    return [
        {
            "spec": {"name": "resnet50", "format": "tensorrt", "source": "models/resnet50.onnx"},
            "version": 3,
            "source_fingerprint": _sha("resnet50.onnx"),
            "config_sha256": _sha("resnet50 config"),
            "files": [
                {"path": "model.sm80.plan", "size": 10, "sha256": _sha("engine sm80")},
                {"path": "model.sm90.plan", "size": 11, "sha256": _sha("engine sm90")},
            ],
            "engine_objects": {
                "9.0": "_cache/engines/resnet50/k/sm90.plan",
                "8.0": "_cache/engines/resnet50/k/sm80.plan",
            },
            "tensorrt_version": "10.8.0",
            **extra,
        },
        {
            "spec": {"name": "mlp", "format": "onnx", "source": "models/mlp.onnx"},
            "version": 1,
            "source_fingerprint": _sha("mlp.onnx"),
            "config_sha256": _sha("mlp config"),
            "files": [{"path": "model.onnx", "size": 5, "sha256": _sha("mlp.onnx")}],
            "engine_objects": {},
            "tensorrt_version": "10.8.0",
        },
    ]


# The digest of _published() under Triton 25.01. It changes only when the manifest format does
# (then bump RELEASE_SCHEMA): every stack's release digest would change with it.
# Changed deliberately for release.buildMissingEngines (issue 9): a TensorRT model now records
# onnxSha256 + buildOptions, so releases with TensorRT models published from then on get new digests.
GOLDEN_DIGEST = "sha256:e9a98a51684103ab6ed0e6f6510be5f972a0e4e49be350c3c9b184f562a9e025"
# The same release as published before that change (no rebuild inputs): its digest is unchanged,
# because absent optional fields are left out of the canonical JSON (old releases stay promotable).
LEGACY_GOLDEN_DIGEST = "sha256:e8e0a7cdf7d7ae7c39cdd6c4ee7b3005df2b61e25c7a4fce50ba791c4ffec009"


def test_manifest_is_canonical_json_and_matches_the_golden_digest() -> None:
    manifest = manifest_from_published("25.01", _published())
    text = manifest.canonical().decode()
    data = json.loads(text)
    # Canonical: sorted keys, compact separators, and no timestamp anywhere.
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"))
    assert "At" not in text
    assert "time" not in text.lower()
    assert data["tritonVersion"] == "25.01"
    assert [m["name"] for m in data["models"]] == ["mlp", "resnet50"]
    resnet = data["models"][1]
    assert resnet["version"] == 3
    assert resnet["files"] == {"model.sm80.plan": _sha("engine sm80"), "model.sm90.plan": _sha("engine sm90")}
    assert resnet["engines"] == [
        {"computeCapability": "8.0", "tensorrtVersion": "10.8.0", "sha256": _sha("engine sm80")},
        {"computeCapability": "9.0", "tensorrtVersion": "10.8.0", "sha256": _sha("engine sm90")},
    ]
    assert "engines" not in data["models"][0]
    # What a stack without an engine for its GPU rebuilds from: the ONNX (a release artifact) and the options.
    assert resnet["onnxSha256"] == _sha("resnet50.onnx")
    # Null options (no calibration cache) are left out: a null does not survive protobuf Structs.
    assert resnet["buildOptions"] == {k: v for k, v in RESNET_OPTIONS.items() if v is not None}
    assert "onnxSha256" not in data["models"][0]
    assert _sha("resnet50.onnx") in manifest.artifacts()
    assert "rebuiltEngines" not in data
    assert "rebuiltFrom" not in data
    assert manifest.digest() == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    assert manifest.digest() == GOLDEN_DIGEST


def test_recorded_build_options_are_exactly_the_engine_keys_and_old_releases_keep_their_digest() -> None:
    from triton_platform.publisher import fingerprint
    from triton_platform.publisher.spec import ModelSpec
    from triton_platform.release.manifest import rebuild_spec

    spec = ModelSpec.model_validate(
        {
            "name": "resnet50",
            "source": "models/resnet50.onnx",
            "format": "tensorrt",
            "precision": "fp16",
            "maxBatchSize": 8,
            "shapes": {"input": {"min": [1, 3, 224, 224], "opt": [8, 3, 224, 224], "max": [8, 3, 224, 224]}},
        }
    )
    assert fingerprint.build_options(spec) == RESNET_OPTIONS
    entry = manifest_from_published("25.01", _published()).model("resnet50")
    rebuilt = rebuild_spec(entry)
    # Same options, same ONNX: the same engine key the publishing stack computes for any architecture.
    assert fingerprint.engine_key(_sha("resnet50.onnx"), rebuilt, "10.8.0", "8.6") == fingerprint.engine_key(
        _sha("resnet50.onnx"), spec, "10.8.0", "8.6"
    )
    legacy = manifest_from_published("25.01", _published(rebuild_inputs=False))
    assert legacy.digest() == LEGACY_GOLDEN_DIGEST
    assert legacy.model("resnet50").onnx_sha256 is None
    # Options that are not an engine key's are refused, naming the model.
    published = _published()
    published[0] = {**published[0], "build_options": {**RESNET_OPTIONS, "precision": "fp64"}}
    with pytest.raises(ValueError, match="resnet50"):
        manifest_from_published("25.01", published)


def test_same_inputs_give_the_same_digest_in_any_order_and_after_the_wire() -> None:
    a = manifest_from_published("25.01", _published())
    b = manifest_from_published("25.01", list(reversed(_published())))
    # Props cross the wire as protobuf Structs: every int arrives as a float.
    c = manifest_from_published("25.01", wire_floats(_published()))
    assert a.digest() == b.digest() == c.digest()
    assert ReleaseManifest.model_validate(json.loads(a.canonical())).digest() == a.digest()


def _flip_one_hex(sha: str) -> str:
    return ("1" if sha[0] != "1" else "2") + sha[1:]


MUTATIONS = {
    "triton version": lambda p, v: ("24.12", p),
    "model version": lambda p, v: (v, [{**p[0], "version": 4}, p[1]]),
    "file byte": lambda p, v: (
        v,
        [p[0], {**p[1], "files": [{"path": "model.onnx", "size": 5, "sha256": _flip_one_hex(_sha("mlp.onnx"))}]}],
    ),
    "config byte": lambda p, v: (v, [p[0], {**p[1], "config_sha256": _flip_one_hex(_sha("mlp config"))}]),
    "source byte": lambda p, v: (v, [p[0], {**p[1], "source_fingerprint": _flip_one_hex(_sha("mlp.onnx"))}]),
    "file name": lambda p, v: (
        v,
        [p[0], {**p[1], "files": [{"path": "model2.onnx", "size": 5, "sha256": _sha("mlp.onnx")}]}],
    ),
    "tensorrt version": lambda p, v: (v, [{**p[0], "tensorrt_version": "10.7.0"}, p[1]]),
    "onnx byte": lambda p, v: (v, [{**p[0], "onnx_sha256": _flip_one_hex(_sha("resnet50.onnx"))}, p[1]]),
    "build option": lambda p, v: (v, [{**p[0], "build_options": {**RESNET_OPTIONS, "workspace_mb": 2048}}, p[1]]),
}


@pytest.mark.parametrize("change", sorted(MUTATIONS))
def test_any_changed_byte_gives_a_new_digest(change: str) -> None:
    base = manifest_from_published("25.01", _published())
    version, published = MUTATIONS[change](_published(), "25.01")
    assert manifest_from_published(version, published).digest() != base.digest()


def test_release_output_round_trips_and_refuses_an_altered_manifest() -> None:
    manifest = manifest_from_published("25.01", _published())
    out = Release.of(manifest, {"kind": "s3", "bucket": "b"}).to_output()
    assert set(out) == {"digest", "manifest", "store"}
    assert Release.parse(wire_floats(out), where="acme/triton-platform/dev").digest == manifest.digest()
    altered = json.loads(json.dumps(out))
    altered["manifest"]["models"][0]["version"] = 2
    with pytest.raises(ReleaseError, match="not the digest of its manifest"):
        Release.parse(altered, where="acme/triton-platform/dev")
    with pytest.raises(ReleaseError, match="exports no `release` output"):
        Release.parse(None, where="acme/triton-platform/dev")
    with pytest.raises(ReleaseError, match="is not a release digest"):
        digest_hex("sha256:abc")


def test_engine_coverage_and_promotion_checks_name_what_is_wrong() -> None:
    release = Release.of(manifest_from_published("25.01", _published()))
    assert missing_engines(release.manifest, ["8.0", "9.0"], "10.8.0") == {}
    assert missing_engines(release.manifest, ["8.6", "8.0"], "10.8.0") == {"resnet50": ["8.6"]}
    assert missing_engines(release.manifest, ["8.0"], "10.7.0") == {"resnet50": ["8.0"]}
    where = "acme/triton-platform/staging"

    def check(pinned: str, triton: str, *, build: bool = False) -> list[tuple[str, str, str]]:
        return release_problems(
            release,
            from_stack=where,
            pinned_digest=pinned,
            triton_version=triton,
            compute_capabilities=["8.6"],
            tensorrt_version="10.8.0",
            build_missing_engines=build,
        )

    other = "sha256:" + "0" * 64
    (mismatch,) = check(other, "25.01")
    assert mismatch[0] == "release.digest"
    assert other in mismatch[1]
    assert release.digest in mismatch[1]
    assert where in mismatch[1]
    (engine,) = check(release.digest, "25.01")
    assert engine[0] == "release"
    assert "'8.6'" in engine[1]
    assert "publisher.computeCapabilities" in engine[1]
    assert "buildMissingEngines" in engine[1]
    assert not check(release.digest, "25.01", build=True)
    # A release published before releases kept their ONNX cannot be rebuilt from: refused, saying so.
    legacy = Release.of(manifest_from_published("25.01", _published(rebuild_inputs=False)))
    (unbuildable,) = release_problems(
        legacy,
        from_stack=where,
        pinned_digest=legacy.digest,
        triton_version="25.01",
        compute_capabilities=["8.6"],
        tensorrt_version="10.8.0",
        build_missing_engines=True,
    )
    assert unbuildable[0] == "release.buildMissingEngines"
    assert "'8.6'" in unbuildable[1]
    assert "records no ONNX" in unbuildable[1]
    assert where in unbuildable[1]
    (triton,) = check(release.digest, "24.12")
    assert triton[0] == "triton.version"
    assert "'25.01'" in triton[1]


def test_a_tensorrt_model_without_its_engine_file_is_refused() -> None:
    published = _published()
    published[0]["files"] = published[0]["files"][:1]
    with pytest.raises(ReleaseError, match=r"no 'model.sm90.plan'"):
        manifest_from_published("25.01", published)


def test_rollback_pins_an_older_release_the_upstream_keeps_and_nothing_else() -> None:
    older = Release.of(manifest_from_published("25.01", _published()))
    published = _published()
    published[1] = {**published[1], "version": 2}
    exported = Release.of(manifest_from_published("25.01", published), {"kind": "s3", "bucket": "b"})
    kept = {older.digest: older.manifest.canonical()}
    history = [{"digest": exported.digest}, {"digest": older.digest}]
    assert pinned_release(exported, history, exported.digest, kept.get) is exported
    rollback = pinned_release(exported, history, older.digest, kept.get)
    assert rollback is not None
    assert rollback.digest == older.digest
    assert rollback.manifest == older.manifest
    assert rollback.store == exported.store
    # Not in the kept history, gone from the bucket, or bytes that do not hash to the digest: refused.
    assert pinned_release(exported, history[:1], older.digest, kept.get) is None
    nothing: dict[str, bytes] = {}
    assert pinned_release(exported, history, older.digest, nothing.get) is None
    assert pinned_release(exported, history, older.digest, {older.digest: b"{}"}.get) is None
    assert pinned_release(exported, history, older.digest, kept.get, keep=1) is None
