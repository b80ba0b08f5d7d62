"""Smoke request to a running Triton: health, model metadata, one inference checked against onnxruntime."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="127.0.0.1:8000", help="Triton HTTP host:port")
    parser.add_argument("--model", default="sample-mlp")
    parser.add_argument("--onnx", default=str(REPO / "samples" / "sample-mlp" / "model.onnx"))
    parser.add_argument("--wait", type=float, default=300, help="seconds to wait for the model to be ready")
    args = parser.parse_args(argv)

    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(url=args.url)
    deadline = time.monotonic() + args.wait
    last: Exception | None = None
    while True:
        try:
            if client.is_server_ready() and client.is_model_ready(args.model):
                break
        except Exception as exc:  # connection refused while the pod starts
            last = exc
        else:
            last = None
        if time.monotonic() > deadline:
            print(
                f"Triton at {args.url} has no ready model {args.model!r} after {args.wait:.0f}s: {last}",
                file=sys.stderr,
            )
            return 1
        time.sleep(2)
    meta = client.get_model_metadata(args.model)
    inp, out = meta["inputs"][0], meta["outputs"][0]
    shape = [4 if d == -1 else d for d in inp["shape"]]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    tensor = httpclient.InferInput(inp["name"], shape, inp["datatype"])
    tensor.set_data_from_numpy(x)
    got = client.infer(args.model, [tensor]).as_numpy(out["name"])
    print(f"model {args.model} versions {meta['versions']}: {inp['name']}{shape} -> {out['name']}{list(got.shape)}")
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime not installed here: skipped the local comparison")
        return 0
    want = ort.InferenceSession(args.onnx).run(None, {inp["name"]: x})[0]
    if not np.allclose(got, want, atol=1e-5):
        print("Triton's answer differs from onnxruntime's on the same ONNX", file=sys.stderr)
        return 1
    print("Triton's answer matches onnxruntime on the same ONNX")
    return 0


if __name__ == "__main__":
    sys.exit(main())
