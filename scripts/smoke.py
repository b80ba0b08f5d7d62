"""Smoke request to a running Triton: health, model metadata, one inference checked against onnxruntime.

``--url`` takes the stack output ``tritonHttp`` as it is (``http://127.0.0.1:8000`` on kind), or a
bare ``host:port``. The check fails (exit 1) when Triton's answer differs from onnxruntime's on the
same ONNX file, and (exit 2) when the comparison cannot run at all: onnxruntime missing, the ONNX
file missing, or an input type this script cannot generate. It never passes without comparing.

  python -m scripts.smoke --url "$(pulumi stack output tritonHttp --stack dev)" --model sample-mlp
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_URL = "http://127.0.0.1:8000"
# A dynamic dimension (-1) of the model's inputs gets this size.
DYNAMIC_SIZE = 4
CANNOT_COMPARE = 2


class SmokeError(Exception):
    """The smoke check cannot run; ``code`` is the exit status."""

    def __init__(self, message: str, code: int = CANNOT_COMPARE) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Endpoint:
    """Where tritonclient.http connects: ``host:port`` and whether over TLS."""

    address: str
    ssl: bool


def parse_url(url: str) -> Endpoint:
    """``http://host:port``, ``https://host:port`` or ``host:port`` (the ``tritonHttp`` output's forms)."""
    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise SmokeError(f"--url {url!r}: Triton's HTTP endpoint is http:// or https://, not {parts.scheme}://")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise SmokeError(f"--url {url!r}: give the endpoint only (scheme, host and port), without a path")
    try:
        port = parts.port
    except ValueError:
        raise SmokeError(f"--url {url!r}: the port is not a number between 0 and 65535") from None
    if not parts.hostname:
        raise SmokeError(f"--url {url!r}: no host (example: {DEFAULT_URL})")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    return Endpoint(f"{host}:{port}", parts.scheme == "https")


def onnxruntime_session(onnx_path: Path) -> Any:
    """An onnxruntime session on the ONNX file, or SmokeError saying why the comparison cannot run."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise SmokeError(
            "onnxruntime is not installed in this Python environment, so Triton's answer cannot be compared: "
            "install the program's requirements (.venv/bin/python -m pip install -r requirements.txt, or make venv)"
        ) from None
    if not onnx_path.is_file():
        raise SmokeError(f"no ONNX file at {onnx_path} to compare with: generate the samples (make samples)")
    return ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])


def wait_ready(client: Any, endpoint: Endpoint, model: str, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    last: Exception | None = None
    while True:
        try:
            if client.is_server_ready() and client.is_model_ready(model):
                return
            last = None
        except Exception as exc:  # connection refused while the pod starts
            last = exc
        if time.monotonic() > deadline:
            why = f": {last}" if last else " (server or model not ready)"
            raise SmokeError(f"Triton at {endpoint.address} has no ready model {model!r} after {wait_s:.0f}s{why}", 1)
        time.sleep(2)


def make_inputs(meta: dict[str, Any]) -> dict[str, np.ndarray]:
    """One random tensor per model input, dynamic dimensions set to DYNAMIC_SIZE."""
    from tritonclient.utils import triton_to_np_dtype

    rng = np.random.default_rng(0)
    feeds = {}
    for spec in meta["inputs"]:
        dtype = triton_to_np_dtype(spec["datatype"])
        if dtype is None or np.dtype(dtype).kind not in "fiu":
            raise SmokeError(f"input {spec['name']!r} has datatype {spec['datatype']}: this check only makes numbers")
        shape = [DYNAMIC_SIZE if d == -1 else int(d) for d in spec["shape"]]
        feeds[spec["name"]] = (rng.standard_normal(shape) * 4).astype(dtype)
    return feeds


def infer(client: Any, model: str, meta: dict[str, Any], feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import tritonclient.http as httpclient

    tensors = []
    for spec in meta["inputs"]:
        tensor = httpclient.InferInput(spec["name"], list(feeds[spec["name"]].shape), spec["datatype"])
        tensor.set_data_from_numpy(feeds[spec["name"]])
        tensors.append(tensor)
    result = client.infer(model, tensors)
    return {spec["name"]: np.asarray(result.as_numpy(spec["name"])) for spec in meta["outputs"]}


def compare(got: dict[str, np.ndarray], want: dict[str, np.ndarray], atol: float) -> list[str]:
    """What differs between Triton's outputs and onnxruntime's (empty when they match)."""
    problems = []
    for name, expected in want.items():
        actual = got.get(name)
        if actual is None:
            problems.append(f"{name}: Triton returned no such output")
        elif actual.shape != expected.shape:
            problems.append(f"{name}: shape {list(actual.shape)} from Triton, {list(expected.shape)} from onnxruntime")
        elif not np.allclose(actual, expected, atol=atol, rtol=1e-4):
            problems.append(f"{name}: values differ by up to {float(np.max(np.abs(actual - expected))):.3g}")
    return problems


def run(args: argparse.Namespace) -> int:
    endpoint = parse_url(args.url)
    session = onnxruntime_session(Path(args.onnx))
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    client = httpclient.InferenceServerClient(url=endpoint.address, ssl=endpoint.ssl, network_timeout=60.0)
    try:
        wait_ready(client, endpoint, args.model, args.wait)
        meta = client.get_model_metadata(args.model)
        feeds = make_inputs(meta)
        got = infer(client, args.model, meta, feeds)
    except InferenceServerException as exc:
        raise SmokeError(f"Triton at {endpoint.address} refused the request for {args.model!r}: {exc}", 1) from None
    finally:
        client.close()
    names = [o["name"] for o in meta["outputs"]]
    try:
        want = dict(zip(names, session.run(names, feeds), strict=True))
    except Exception as exc:  # the ONNX file is not the served model (other inputs or outputs)
        raise SmokeError(f"onnxruntime cannot run {args.onnx} with the inputs of {args.model!r}: {exc}") from None
    shapes = ", ".join(f"{k}{list(v.shape)}" for k, v in feeds.items())
    print(f"model {args.model} versions {meta.get('versions')}: {shapes} -> {', '.join(names)}")
    problems = compare(got, want, args.atol)
    if problems:
        print(f"Triton's answer differs from onnxruntime's on {args.onnx}:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"Triton's answer matches onnxruntime's on {args.onnx}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.smoke", description="Smoke request to a running Triton, checked against onnxruntime."
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the stack output tritonHttp (default {DEFAULT_URL})")
    parser.add_argument("--model", default="sample-mlp")
    parser.add_argument("--onnx", default=str(REPO / "samples" / "sample-mlp" / "model.onnx"))
    parser.add_argument("--wait", type=float, default=300, help="seconds to wait for the model to be ready")
    parser.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance of the comparison")
    try:
        return run(parser.parse_args(argv))
    except SmokeError as err:
        print(f"smoke check failed: {err}", file=sys.stderr)
        return err.code


if __name__ == "__main__":
    sys.exit(main())
