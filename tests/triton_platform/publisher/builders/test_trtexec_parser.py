"""The Job builder's trtexec command lines, as trtexec's own option parser read them.

``trtexec_parsed.json`` (see README.md beside it) holds, for every case of CASES, the command
line ``trtexec_args`` generated and what TensorRT OSS v10.8.0's real parser
(``samples/common/sampleOptions.cpp``: ``argsToArgumentsMap`` + ``AllOptions::parse``, as
trtexec's ``main`` calls them) made of it: the build profile, the INT8 calibration profile it
derives from the same lists (``shapesCalib = optProfiles[calibProfile]`` when ``--int8 --calib``
and no ``--*ShapesCalib``), precision flags, workspace. The tests check that the builder still
generates exactly those command lines (a change fails until it is re-recorded) and that the
recorded parse holds every input at the shape we meant, including the rules trtexec applies
later in ``sampleEngines.cpp``: every network input must be in the INT8 calibration profile
("Calibration profile for tensor X cannot be found!"), listed names must be network inputs, and
a static model takes no shapes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine_jobs import engine_job, engine_spec
from triton_platform.publisher.builders import EngineJob
from triton_platform.publisher.builders.kubernetes_job import (
    CALIBRATION_PATH,
    ENGINE_PATH,
    ONNX_PATH,
    trtexec_args,
)
from triton_platform.publisher.errors import BuildError

RECORDED = Path(__file__).with_name("trtexec_parsed.json")
# NvInfer.h (v10.8.0): enum class HardwareCompatibilityLevel { kNONE = 0, kAMPERE_PLUS = 1 }.
_HARDWARE_LEVEL = {"none": 0, "ampere+": 1}


def _job(
    precision: str,
    dynamic: dict[str, dict[str, list[int]]],
    static: dict[str, list[int]],
    *,
    max_batch_size: int = 0,
    **spec: Any,
) -> EngineJob:
    calibration = {"calibration_cache": "cal.cache"} if precision == "int8" else {}
    return engine_job(
        engine_spec(precision=precision, max_batch_size=max_batch_size, shapes=dynamic, **calibration, **spec),
        static_inputs=static,
    )


_IMAGES = {"images": {"min": [1, 3, 224, 224], "opt": [8, 3, 224, 224], "max": [32, 3, 224, 224]}}
_TOKENS = {"tokens": {"min": [1, 1], "opt": [1, 128], "max": [1, 512]}}
_BERT = {
    "input_ids": {"min": [1, 16], "opt": [8, 128], "max": [16, 512]},
    "attention_mask": {"min": [1, 16], "opt": [8, 128], "max": [16, 512]},
}

# Every kind of model the Job builds: static, dynamic, mixed inputs; each precision; ':' in names.
CASES: dict[str, Callable[[], EngineJob]] = {
    "static-fp16": lambda: _job("fp16", {}, {"images": [1, 3, 224, 224]}),
    "static-int8": lambda: _job("int8", {}, {"images": [1, 3, 224, 224]}),
    "dynamic-batch-fp16": lambda: _job("fp16", _IMAGES, {}, max_batch_size=32, workspace_mb=2048),
    "dynamic-two-inputs-fp32": lambda: _job("fp32", _BERT, {}, max_batch_size=16),
    "dynamic-int8": lambda: _job("int8", _IMAGES, {}, max_batch_size=32),
    "mixed-fp16": lambda: _job("fp16", _TOKENS, {"temperature": [1]}),
    "mixed-int8": lambda: _job("int8", _TOKENS, {"temperature": [1], "bias": [1, 4]}),
    "colon-names-int8": lambda: _job(
        "int8",
        {"input:0": {"min": [1, 2], "opt": [4, 2], "max": [8, 2]}},
        {"scale:0": [1]},
        hardware_compatibility="ampere+",
    ),
    "mixed-tf32-ampere+": lambda: _job("tf32", _TOKENS, {"temperature": [1]}, hardware_compatibility="ampere+"),
}


def _recorded() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RECORDED.read_text())
    return data


def test_every_case_was_recorded_and_nothing_else() -> None:
    assert set(_recorded()["cases"]) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_builder_still_generates_the_recorded_command_line(case: str) -> None:
    # A different command line has not been through trtexec's parser: re-record it (README.md).
    assert trtexec_args(CASES[case]()) == _recorded()["cases"][case]["argv"]


def _inputs(job: EngineJob) -> dict[str, tuple[list[int], list[int], list[int]]]:
    """Every network input of the case's model, at the (min, opt, max) we meant."""
    meant = {name: (dims, dims, dims) for name, dims in job.static_inputs.items()}
    meant.update({name: (r.min, r.opt, r.max) for name, r in job.shapes.items()})
    return meant


@pytest.mark.parametrize("case", sorted(CASES))
def test_trtexecs_parser_read_what_we_meant(case: str) -> None:
    job = CASES[case]()
    parsed = _recorded()["cases"][case]["parsed"]
    assert parsed["ok"], parsed["error"]
    assert parsed["unknown"] == []
    assert (parsed["onnx"], parsed["saveEngine"]) == (ONNX_PATH, ENGINE_PATH)
    assert parsed["workspaceMiB"] == job.spec.workspace_mb
    assert parsed["skipInference"] is True
    precision = job.spec.precision
    assert parsed["fp16"] is (precision in ("fp16", "int8"))
    assert parsed["int8"] is (precision == "int8")
    assert parsed["tf32"] is (precision != "fp32")
    assert parsed["calibration"] == (CALIBRATION_PATH if precision == "int8" else "")
    assert parsed["hardwareCompatibilityLevel"] == _HARDWARE_LEVEL[job.spec.hardware_compatibility]
    (profile,) = parsed["profiles"]
    inputs = _inputs(job)
    if not job.shapes:
        # sampleEngines.cpp: "Static model does not take explicit shapes".
        assert profile == {}
        assert parsed["calibrationProfile"] == {}
        return
    # Every dynamic input at its range; a listed static input (INT8) at its fixed shape, which
    # the build profile skips. Every listed name is a network input.
    for name, parsed_range in profile.items():
        assert (parsed_range["min"], parsed_range["opt"], parsed_range["max"]) == inputs[name], name
    assert set(job.shapes) <= set(profile)
    if precision == "int8":
        # The calibration profile: every network input, at the opt shape the local builder uses too.
        calibration = parsed["calibrationProfile"]
        assert set(calibration) == set(inputs)
        assert {name: r["opt"] for name, r in calibration.items()} == job.calibration_shapes
    else:
        assert parsed["calibrationProfile"] == {}


def test_the_real_parser_cuts_a_name_with_a_comma() -> None:
    # Recorded: a quoted name with ',' as trtexec receives it; getShapesBuild splits on ',' first.
    rejected = _recorded()["counterexamples"]["comma-in-name"]
    assert not rejected["parsed"]["ok"]
    assert "Found invalid number of 's" in rejected["parsed"]["error"]


def test_listing_dynamic_inputs_only_leaves_static_ones_out_of_int8_calibration() -> None:
    # Recorded: the command line the builder generated for mixed-int8 before it listed static inputs.
    # The parse succeeds, but the calibration profile lacks them, and sampleEngines.cpp then throws
    # "Calibration profile for tensor temperature cannot be found!" for the first one.
    old = _recorded()["counterexamples"]["int8-mixed-dynamic-inputs-only"]
    assert old["parsed"]["ok"]
    assert set(old["parsed"]["calibrationProfile"]) == {"tokens"}
    assert set(_inputs(CASES["mixed-int8"]())) == {"tokens", "temperature", "bias"}


@pytest.mark.parametrize("name", ["a,b", "it's"])
def test_input_names_trtexec_cannot_carry_are_refused_naming_model_and_input(name: str) -> None:
    job = _job("fp16", {name: {"min": [1, 2], "opt": [4, 2], "max": [8, 2]}}, {})
    with pytest.raises(BuildError) as err:
        trtexec_args(job)
    message = str(err.value)
    assert "model 'resnet'" in message
    assert repr(name) in message
    assert "builder: local" in message
    # Static inputs are listed for INT8 only, so a comma there matters only then.
    int8 = _job("int8", _TOKENS, {name: [1]})
    with pytest.raises(BuildError, match="trtexec's --minShapes"):
        trtexec_args(int8)
    assert trtexec_args(_job("fp16", _TOKENS, {name: [1]}))
