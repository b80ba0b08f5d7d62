"""The weight-free ONNX reader: what onnx itself reads, from a few bytes, in flat memory, without onnx."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.support.fakes import image_model, legacy_initializer_inputs_model, mlp_model, text_model
from tests.support.large_onnx import write_large_onnx
from tests.support.stacks import REPO
from triton_platform.publisher.errors import ModelSourceError
from triton_platform.publisher.onnx_graph import check_model, read_signature
from triton_platform.publisher.onnx_wire import SKELETON_INLINE_BYTES, WireError, read_graph, skeleton

MiB = 1024 * 1024


def _onnx_view(path: Path) -> dict[str, object]:
    """What onnx.load itself reads: inputs/outputs (name, elem type, dims) and initializer names."""
    proto = onnx.load(str(path))

    def dims(v: onnx.ValueInfoProto) -> tuple[int, ...]:
        shape = v.type.tensor_type.shape.dim
        return tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1 for d in shape)

    return {
        "inputs": [(v.name, v.type.tensor_type.elem_type, dims(v)) for v in proto.graph.input],
        "outputs": [(v.name, v.type.tensor_type.elem_type, dims(v)) for v in proto.graph.output],
        "initializers": {t.name for t in proto.graph.initializer},
        "opsets": [(o.domain, o.version) for o in proto.opset_import],
    }


@pytest.mark.parametrize("make", [mlp_model, image_model, text_model, legacy_initializer_inputs_model])
def test_wire_reader_reads_what_onnx_reads(make: object, tmp_path: Path) -> None:
    path = make(tmp_path / "m.onnx")  # type: ignore[operator]
    graph = read_graph(path)
    assert graph.has_graph
    want = _onnx_view(path)
    assert [(t.name, t.elem_type, t.dims) for t in graph.inputs] == want["inputs"]
    assert [(t.name, t.elem_type, t.dims) for t in graph.outputs] == want["outputs"]
    assert graph.initializer_names == want["initializers"]
    assert graph.opsets == want["opsets"]


def test_weights_are_skipped_not_read(tmp_path: Path) -> None:
    path = write_large_onnx(tmp_path / "big.onnx", 64 * MiB)
    graph = read_graph(path)
    assert graph.initializer_names == {"bias", "weights"}
    assert [t.name for t in graph.inputs] == ["x"]
    # Tags and small messages only: the 64 MiB of weights are seeked over.
    assert graph.bytes_read < 4096
    sig = read_signature(path, model="big")
    assert [(t.name, t.dims) for t in sig.inputs] == [("x", (-1, 4))]
    assert sig.opset == 17


def test_sparse_initializers_listed_as_inputs_are_not_inputs(tmp_path: Path) -> None:
    values = numpy_helper.from_array(np.ones(2, np.float32), "w")
    indices = numpy_helper.from_array(np.array([0, 3], np.int64), "w_idx")
    sparse = helper.make_sparse_tensor(values, indices, [4])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "sparse",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("w", TensorProto.FLOAT, [4]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        sparse_initializer=[sparse],
    )
    path = tmp_path / "sparse.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    assert read_graph(path).initializer_names == {"w"}
    assert [t.name for t in read_signature(path, model="sparse", check=False).inputs] == ["x"]


def test_skeleton_keeps_the_graph_and_moves_large_weights_out(tmp_path: Path) -> None:
    path = write_large_onnx(tmp_path / "big.onnx", 8 * MiB)
    data = skeleton(path, "weights.skipped")
    assert len(data) < 4096
    proto = onnx.load_model_from_string(data)
    weights = {t.name: t for t in proto.graph.initializer}
    assert weights["weights"].data_location == TensorProto.EXTERNAL
    assert list(weights["weights"].dims) == [2 * MiB]
    assert len(weights["bias"].SerializeToString()) <= SKELETON_INLINE_BYTES  # small ones stay as they are
    assert numpy_helper.to_array(weights["bias"]).tolist() == [0.5] * 4
    check_model(path)  # the checker accepts it without the weights


def test_the_checker_still_rejects_a_broken_graph(tmp_path: Path) -> None:
    proto = onnx.load(str(mlp_model(tmp_path / "m.onnx")))
    proto.graph.node[1].op_type = "NoSuchOp"
    bad = tmp_path / "bad.onnx"
    onnx.save(proto, str(bad))
    with pytest.raises(ModelSourceError, match=r"model 'bad'.*is not a valid ONNX model.*NoSuchOp"):
        read_signature(bad, model="bad")
    # Without the checker (what the program does for shapes) only the wire format and signature are checked.
    assert read_signature(bad, model="bad", check=False).inputs[0].name == "x"


@pytest.mark.parametrize("cut", [1, 7, 40])
def test_truncated_files_are_invalid(cut: int, tmp_path: Path) -> None:
    data = mlp_model(tmp_path / "m.onnx").read_bytes()
    bad = tmp_path / "cut.onnx"
    bad.write_bytes(data[:-cut])
    with pytest.raises(WireError):
        read_graph(bad)
    with pytest.raises(ModelSourceError, match="is not a valid ONNX model"):
        read_signature(bad, model="cut", check=False)


def test_a_protobuf_without_a_graph_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"\x08\x08")  # ir_version 8 and nothing else
    with pytest.raises(ModelSourceError, match=r"is not a valid ONNX model.*no graph"):
        read_signature(path, model="empty", check=False)


_CHILD = """
import json, resource, sys
from pathlib import Path
from triton_platform.publisher.onnx_graph import read_signature
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sig = read_signature(Path(sys.argv[1]), model="big", check=sys.argv[2] == "check")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_kib": after - before, "inputs": [t.name for t in sig.inputs],
                  "onnx": "onnx" in sys.modules, "numpy": "numpy" in sys.modules}))
"""


@pytest.mark.parametrize("check", ["check", "program"])
def test_peak_memory_stays_flat_for_a_200_mb_model(check: str, tmp_path: Path) -> None:
    path = write_large_onnx(tmp_path / "big.onnx", 200 * MiB)
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), check],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report["inputs"] == ["x"]
    # ru_maxrss is in KiB on Linux. onnx.load would hold all 200 MB (and more while parsing).
    limit_kib = 80 * 1024 if check == "check" else 8 * 1024  # importing onnx for its checker costs ~60 MB
    assert report["grew_kib"] < limit_kib, report
    # The program's path (shapes at evaluation) imports neither onnx nor numpy.
    assert report["onnx"] is (check == "check")
    assert report["numpy"] is (check == "check")
