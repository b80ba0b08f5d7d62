"""One message, every problem: the schema's errors and the cross-key rules together, in the user's words.

The structural pass keeps what validated (triton_platform.config.structure), so a rule whose keys
are valid still reports when another key of the same file (or section) is wrong; a rule that
reads a rejected key is skipped, never misled by a default standing in for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.configs import MIG_1G5, ONNX_MODEL, gpu_pool, placeholder_models, raw_config
from triton_platform.config import ConfigError, parse_config
from triton_platform.config.schema import UnvalidatedKey
from triton_platform.config.structure import check_structure


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """m/model.onnx, py/ (a python model) and onnx-dir/ (a folder holding model.onnx)."""
    placeholder_models(tmp_path)
    (tmp_path / "onnx-dir").mkdir()
    (tmp_path / "onnx-dir" / "model.onnx").write_bytes(b"onnx")
    return tmp_path


def error_of(raw: dict[str, Any], base: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, base_dir=base, stack="test")
    return info.value


def reason(err: ConfigError, key: str) -> str:
    """The one issue of ``key`` (the test fails when there is none, or several)."""
    found = [i for i in err.issues if i.key == f"triton-platform:{key}"]
    assert len(found) == 1, str(err)
    return str(found[0])


def aws_stack(**over: Any) -> dict[str, Any]:
    pool = gpu_pool("p4d.24xlarge", "A100-SXM4-40GB", 8)
    return raw_config("aws", name="triton-prod", pool=pool, **({"gpu": MIG_1G5} | over))


def test_five_mistakes_structural_and_semantic_in_one_message(base: Path) -> None:
    raw = raw_config(
        "local",
        # structural: an unknown key; semantic, same section: a Triton release the catalogue lacks.
        triton={"replica": 2, "version": "99.99"},
        # structural: a wrong type.
        monitoring={"enabled": "maybe"},
        # semantic: a directory where the format needs an ONNX file.
        models=[{**ONNX_MODEL, "source": "onnx-dir"}],
    )
    raw["cluster"]["kubernetesVersion"] = 1.30  # structural: YAML's number 1.3
    err = error_of(raw, base)
    assert len(err.issues) == 5, str(err)
    assert "did you mean `replicas`?" in reason(err, "triton.replica")
    assert "unknown NGC release '99.99'" in reason(err, "triton.version")
    assert "got 'maybe' (example: true)" in reason(err, "monitoring.enabled")
    assert "'onnx-dir' is a directory, not an ONNX file" in reason(err, "models[0].source")
    version = reason(err, "cluster.kubernetesVersion")
    assert "number 1.3" in version, version
    assert "quote it: '1.30'" in version, version
    assert str(err).startswith("invalid configuration of stack 'test' (5 problems):")


def test_unknown_key_gets_the_closest_key_at_its_level(base: Path) -> None:
    err = error_of(raw_config("local", tritonn={}, triton={"service": {"httpPrt": 8000}}), base)
    assert "did you mean `triton`?" in reason(err, "tritonn")
    assert "did you mean `httpPort`?" in reason(err, "triton.service.httpPrt")


def test_unknown_key_without_a_close_one_lists_the_keys_at_its_level(base: Path) -> None:
    text = reason(error_of(raw_config("local", monitoring={"zzz": 1}), base), "monitoring.zzz")
    assert "unknown key" in text, text
    assert "valid keys here: enabled, namespace, grafana, alerts" in text, text


@pytest.mark.parametrize(
    ("over", "key", "words"),
    [
        ({"triton": {"version": 25.10}}, "triton.version", ("number 25.1", "quote it: '25.10'", "'25.01'")),
        ({"triton": {"version": 25.01}}, "triton.version", ("number 25.01", "quote it: '25.01'")),
        ({"publisher": {"computeCapabilities": [8.0]}}, "publisher.computeCapabilities[0]", ("quote it: '8.0'",)),
    ],
)
def test_a_version_yaml_read_as_a_number_says_to_quote_it(
    base: Path, over: dict[str, Any], key: str, words: tuple[str, ...]
) -> None:
    text = reason(error_of(raw_config("local", **over), base), key)
    assert all(w in text for w in words), text


def test_a_wrong_value_is_repeated_with_an_example(base: Path) -> None:
    err = error_of(raw_config("local", triton={"replicas": "two", "modelControlMode": "auto"}), base)
    assert "got 'two' (example: 2)" in reason(err, "triton.replicas")
    assert "got 'auto' (example: 'poll')" in reason(err, "triton.modelControlMode")


def test_a_directory_as_onnx_names_the_file_inside(base: Path) -> None:
    text = reason(
        error_of(raw_config("local", models=[{**ONNX_MODEL, "source": "onnx-dir"}]), base), "models[0].source"
    )
    assert "it holds model.onnx" in text, text
    assert "(example: 'onnx-dir/model.onnx')" in text, text
    (base / "empty").mkdir()
    text = reason(error_of(raw_config("local", models=[{**ONNX_MODEL, "source": "empty"}]), base), "models[0].source")
    assert "is a directory" in text, text
    assert "no .onnx file" in text, text


def test_a_rule_that_reads_a_rejected_key_is_skipped(base: Path) -> None:
    # cluster.region has the wrong type: the AWS rule "required for cloud 'aws'" must not fire on it.
    raw = aws_stack(models=[{**ONNX_MODEL}])
    raw["cluster"]["region"] = 123
    err = error_of(raw, base)
    assert err.keys == ["triton-platform:cluster.region"], str(err)


def test_the_partial_config_has_the_valid_keys_and_refuses_the_others() -> None:
    data = raw_config("local", triton={"replicas": 0, "version": "25.01"})
    cfg, issues = check_structure(data)
    assert cfg is not None
    assert [i.key for i in issues] == ["triton-platform:triton.replicas"]
    assert cfg.triton.version == "25.01"
    assert cfg.cluster.name == "triton-test"
    with pytest.raises(UnvalidatedKey):
        _ = cfg.triton.replicas


def test_a_model_rule_an_unknown_key_hid_joins_the_message(base: Path) -> None:
    # pydantic stops at the unknown key and never runs the pool's minNodes <= maxNodes, nor the model's rules.
    raw = aws_stack(models=[{**ONNX_MODEL, "precision": "fp16", "bogus": 1}])
    raw["cluster"]["gpuNodePool"].update(minNodes=3, maxNodes=1, tyop=1)
    err = error_of(raw, base)
    assert "unknown key" in reason(err, "cluster.gpuNodePool.tyop")
    assert "minNodes (3) must be <= maxNodes (1)" in reason(err, "cluster.gpuNodePool")
    assert "unknown key" in reason(err, "models[0].bogus")
    assert "precision 'fp16' needs format 'tensorrt'" in reason(err, "models[0]")


def test_rules_that_only_count_models_still_run_when_one_model_is_wrong(base: Path) -> None:
    release = {"fromStack": "acme/triton-platform/dev", "digest": "sha256:" + "0" * 64}
    raw = raw_config("local", models=[ONNX_MODEL, {**ONNX_MODEL, "name": "b", "format": "onnxx"}], release=release)
    err = error_of(raw, base)
    assert "got 'onnxx'" in reason(err, "models[1].format")
    assert "set either models" in reason(err, "release")
