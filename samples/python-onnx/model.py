"""Triton Python-backend model: runs the ONNX graph next to this file with onnxruntime on CPU.

Triton copies the whole version directory (this file and ``model.onnx``) from the bucket
and calls ``initialize`` once per instance; tensor names and order come from config.pbtxt,
which the publisher renders from the ONNX graph itself.
"""

from __future__ import annotations

import json
import os
from typing import Any

import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    """Serves ``model.onnx`` of the same version directory."""

    def initialize(self, args: dict[str, str]) -> None:
        version_dir = os.path.join(args["model_repository"], args["model_version"])
        options = ort.SessionOptions()
        # One thread per instance: Triton scales with instance_group count, not threads.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            os.path.join(version_dir, "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )
        config = json.loads(args["model_config"])
        self.input_names = [tensor["name"] for tensor in config["input"]]
        self.output_names = [tensor["name"] for tensor in config["output"]]

    def execute(self, requests: list[Any]) -> list[Any]:
        responses = []
        for request in requests:
            feeds = {name: pb_utils.get_input_tensor_by_name(request, name).as_numpy() for name in self.input_names}
            results = self.session.run(self.output_names, feeds)
            tensors = [pb_utils.Tensor(name, value) for name, value in zip(self.output_names, results, strict=True)]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses

    def finalize(self) -> None:
        self.session = None
