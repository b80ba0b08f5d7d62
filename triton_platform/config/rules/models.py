"""Rules of the ``models`` list: unique names, sources that exist in the form their format needs,
and a GPU pool for what needs one."""

from __future__ import annotations

import re
from pathlib import Path

from triton_platform.config.errors import Issue, key
from triton_platform.config.schema import PlatformConfig
from triton_platform.publisher.spec import ModelSpec


def _directory_issue(source_key: str, src: str, path: Path) -> Issue:
    """A directory where the format needs one ONNX file: say so, and name the ONNX files in it."""
    inside = sorted(p.name for p in path.glob("*.onnx") if p.is_file())
    held = f"it holds {', '.join(inside)}" if inside else "it holds no .onnx file"
    example = repr(f"{src.rstrip('/')}/{inside[0]}") if inside else "'models/resnet50.onnx'"
    return Issue(source_key, f"{src!r} is a directory, not an ONNX file: give the .onnx file itself ({held})", example)


def _source_issues(source_key: str, m: ModelSpec, base_dir: Path) -> list[Issue]:
    """A bucket URI, an ``.onnx`` file (tensorrt, onnx), or a directory with model.py and its signature (python)."""
    src = m.source
    if re.match(r"^((s3|gs|az)://[^/]+/.+|https?://.+)", src):  # an https:// URL: ModelSpec checks it (sha256)
        return []
    if "://" in src:
        return [
            Issue(
                source_key,
                f"unsupported URI {src!r}; use a local path or s3://, gs://, az:// URIs",
                "'models/resnet50.onnx'",
            )
        ]
    path = (base_dir / src) if not Path(src).is_absolute() else Path(src)
    if m.format in ("tensorrt", "onnx"):
        if path.is_dir():
            return [_directory_issue(source_key, src, path)]
        if not path.is_file():
            return [
                Issue(source_key, f"ONNX file {src!r} not found (relative to {base_dir})", "'models/resnet50.onnx'")
            ]
        if path.suffix != ".onnx":
            return [Issue(source_key, f"{src!r} is not an .onnx file", "'models/resnet50.onnx'")]
        return []
    if not path.is_dir() or not (path / "model.py").is_file():
        return [
            Issue(
                source_key,
                f"python models need a directory with model.py; {src!r} is not one",
                "'models/preprocess'",
            )
        ]
    sig = m.signature or "model.onnx"
    if not (path / sig).is_file():
        return [
            Issue(
                source_key,
                f"python model {src!r} has no {sig!r} to read its inputs/outputs from (set signature)",
                "'model.onnx'",
            )
        ]
    return []


def model_issues(cfg: PlatformConfig, base_dir: Path) -> list[Issue]:
    """Each model in turn: its name is unique, its source is usable, and a GPU pool is there if it needs one."""
    issues: list[Issue] = []
    pool = cfg.cluster.gpu_node_pool
    seen: dict[str, int] = {}
    for i, m in enumerate(cfg.models):
        mk = f"models[{i}]"
        if m.name in seen:
            issues.append(
                Issue(
                    key(f"{mk}.name"),
                    f"duplicate model name {m.name!r} (also models[{seen[m.name]}])",
                    repr(m.name + "-v2"),
                )
            )
        seen.setdefault(m.name, i)
        issues += _source_issues(key(f"{mk}.source"), m, base_dir)
        if m.format == "tensorrt" and pool is None:
            issues.append(
                Issue(
                    key(f"{mk}.format"),
                    "TensorRT engines need a GPU node pool (cluster.gpuNodePool); use 'onnx' for CPU",
                    "'onnx'",
                )
            )
        if m.instance_kind == "gpu" and pool is None:
            issues.append(Issue(key(f"{mk}.instanceKind"), "'gpu' needs cluster.gpuNodePool", "'cpu'"))
        # A TensorRT model with the local builder on a cloud is allowed: the builder checks that
        # the engines it builds match the pool's compute capability.
    return issues
