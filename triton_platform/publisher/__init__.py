"""The pre-step that publishes models into the bucket Triton reads: specs, ONNX signatures, TensorRT engines,
config.pbtxt, the atomic publish protocol, and the object stores (``stores/``, ``open_store`` in its ``__init__``)."""
