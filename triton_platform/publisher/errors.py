"""Errors the model publisher raises, one class per kind of failure.

Every message names the model and the offending key and, where it helps, ends with a
valid example, so a failed `pulumi up` says what to fix without reading a traceback.
Messages never carry credentials.
"""

from __future__ import annotations

from typing import Any, TypedDict, Unpack


class ErrorParts(TypedDict, total=False):
    """The keyword arguments of PublisherError, passed on unchanged by subclasses that add their own."""

    model: str | None
    key: str | None
    example: str | None


class PublisherError(Exception):
    """Base of every publisher error.

    ``str(error)`` reads ``model 'resnet50': models[].shapes.input: <detail> (valid example: ...)``.
    The parts are kept as attributes for callers that aggregate errors.
    """

    def __init__(
        self,
        detail: str,
        *,
        model: str | None = None,
        key: str | None = None,
        example: str | None = None,
    ) -> None:
        self.detail = detail
        self.model = model
        self.key = key
        self.example = example
        super().__init__(self._message())

    def _message(self) -> str:
        parts: list[str] = []
        if self.model:
            parts.append(f"model {self.model!r}")
        if self.key:
            parts.append(self.key)
        text = ": ".join([*parts, self.detail])
        if self.example:
            text += f" (valid example: {self.example})"
        return text

    def _state(self) -> dict[str, Any]:
        return {"model": self.model, "key": self.key, "example": self.example}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments break the default exception pickling (the dynamic
        # provider serialises with dill); rebuild from the parts instead.
        return (_rebuild, (type(self), self.detail, self._state()))


def _rebuild(cls: type[PublisherError], detail: str, state: dict[str, Any]) -> PublisherError:
    return cls(detail, **state)


class ModelSourceError(PublisherError):
    """The model source is missing, unreadable, or not a valid ONNX file / Python model directory."""


class ModelSpecError(PublisherError):
    """The model spec does not match the model itself (unknown input, wrong rank, fixed dims...)."""


class ConfigPbtxtError(PublisherError):
    """The rendered config.pbtxt is not a valid Triton ModelConfig, or cannot be rendered."""


class StoreError(PublisherError):
    """The object store refused or failed: bucket missing, access denied, checksum mismatch."""

    def __init__(self, detail: str, *, bucket: str | None = None, **parts: Unpack[ErrorParts]) -> None:
        self.bucket = bucket
        super().__init__(detail, **parts)

    def _message(self) -> str:
        text = super()._message()
        return f"bucket {self.bucket!r}: {text}" if self.bucket else text

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "bucket": self.bucket}


class BuildError(PublisherError):
    """A TensorRT engine build failed; ``log_tail`` holds the last lines of the build log."""

    def __init__(self, detail: str, *, log_tail: str = "", **parts: Unpack[ErrorParts]) -> None:
        self.log_tail = log_tail
        super().__init__(detail, **parts)

    def _message(self) -> str:
        text = super()._message()
        return f"{text}\n--- build log (last lines) ---\n{self.log_tail}" if self.log_tail else text

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "log_tail": self.log_tail}
