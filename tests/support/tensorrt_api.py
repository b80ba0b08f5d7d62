"""Checks calls against the real TensorRT Python API: fakes bound to the real classes.

The local engine builder talks to ``tensorrt`` through a handful of objects (Builder,
INetworkDefinition, OnnxParser, IBuilderConfig, IOptimizationProfile, ITimingCache, IHostMemory).
Without a GPU the real objects cannot be created (tests/support/tensorrt_stubs.py loads the real
module over stub libraries), so :func:`checked_tensorrt` returns a module that *is* the real one
(its enums, base classes, ``__version__``) except for ``Builder`` and ``OnnxParser``, whose
objects are :class:`Checked` proxies. Every attribute read, property write and method call on
them is checked against the real class first, with pybind11's own signatures: the ``__doc__``
lines such as ``set_timing_cache(self: IBuilderConfig, cache: ITimingCache, ignore_mismatch:
bool) -> bool``, every overload. A name the real class lacks, a missing or extra argument, or a
value pybind11 would refuse (``None`` for an ``ITimingCache``, an ``int`` for a ``BuilderFlag``)
raises :class:`ApiMisuse` at the call; what the fake returns is checked against the declared
return type (``None`` allowed for object returns: the C++ API returns pointers, and pybind11
turns a null one into ``None``), then wrapped again. Only then does :class:`FakeTensorRT`
behave like TensorRT.

Where TensorRT calls back into Python (``ILogger.log``, the INT8 calibrator), the fake calls our
objects through :meth:`CheckedApi.call_override`, which checks those calls and results the same
way against the base class the object derives from.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

_PREFIX = "tensorrt_bindings.tensorrt."
_SIGNATURE = re.compile(r"^(?:\d+\. )?(?P<name>\w*)\((?P<params>.*)\) -> (?P<returns>.+)$")
# Python overrides whose None the bindings accept although the declared type is a list or buffer:
# TensorRT OSS v10.8.0 python/src/infer/pyInt8.cpp (getBatch: `!result.is_none()`; readCalibrationCache:
# `cacheRaw.is_none()`), as NVIDIA's own get_batch example in the docstring returns None.
_NONE_RESULT_OK = {"get_batch", "read_calibration_cache"}


class ApiMisuse(AssertionError):
    """A call the real TensorRT API would refuse (or that does not exist)."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    has_default: bool


@dataclass(frozen=True)
class Signature:
    """One pybind11 overload, parsed from its docstring line."""

    name: str
    params: tuple[Param, ...]
    returns: str

    def __str__(self) -> str:
        params = ", ".join(f"{p.name}: {p.type}{' = ...' if p.has_default else ''}" for p in self.params)
        return f"{self.name}({params}) -> {self.returns}"


def _split_params(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def signatures(obj: Any, name: str | None = None) -> list[Signature]:
    """The pybind11 signatures in ``obj.__doc__`` (those named ``name`` when given)."""
    found = []
    for line in (getattr(obj, "__doc__", None) or "").splitlines():
        match = _SIGNATURE.match(line.strip())
        if not match or (name is not None and match["name"] != name):
            continue
        params = []
        for part in _split_params(match["params"]):
            pname, _, rest = part.partition(": ")
            ptype, eq, _default = rest.partition(" = ")
            params.append(Param(pname.strip(), ptype.strip(), bool(eq)))
        found.append(Signature(match["name"], tuple(params), match["returns"].strip()))
    if not found:
        raise ApiMisuse(f"{obj!r} documents no pybind11 signature{f' named {name!r}' if name else ''}")
    return found


class Checked:
    """A stand-in for an object of the real class ``real``: checked, then handed to the fake ``impl``."""

    __slots__ = ("_api", "_impl", "_real")

    def __init__(self, real: type, impl: Any, api: CheckedApi) -> None:
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_impl", impl)
        object.__setattr__(self, "_api", api)

    def __repr__(self) -> str:
        return f"<checked tensorrt.{self._real.__name__}>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)  # Python's own protocol probes (copy, pickle...), not TensorRT's API
        attr = self._api.real_attribute(self._real, name)
        if isinstance(attr, property):
            (sig,) = signatures(attr.fget)
            self._api.calls.append(Call(self._real.__name__, name, (), {}))
            return self._api.returned(self._real, name, sig.returns, getattr(self._impl, name))
        return lambda *args, **kwargs: self._api.call(self, name, args, kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        attr = self._api.real_attribute(self._real, name)
        if not isinstance(attr, property) or attr.fset is None:
            raise ApiMisuse(f"tensorrt.{self._real.__name__}.{name} is not a writable property")
        (sig,) = signatures(attr.fset)
        if not self._api.accepts(sig.params[1].type, value):
            raise ApiMisuse(f"tensorrt.{self._real.__name__}.{name} = {value!r}: the setter takes {sig.params[1].type}")
        self._api.calls.append(Call(self._real.__name__, name, (value,), {}, kind="set"))
        setattr(self._impl, name, _unwrap(value))


def _unwrap(value: Any) -> Any:
    return value._impl if isinstance(value, Checked) else value


@dataclass(frozen=True)
class Call:
    """One checked call (``kind``: call, get, set, override) as our code made it."""

    cls: str
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    kind: str = "call"


@dataclass
class CheckedApi:
    """The real module ``trt`` and every checked call made through its stand-ins."""

    trt: ModuleType
    calls: list[Call] = field(default_factory=list)

    def named(self, cls: str, name: str) -> list[Call]:
        return [c for c in self.calls if c.cls == cls and c.name == name]

    # --- the real API's rules --------------------------------------------------------------

    def real_attribute(self, real: type, name: str) -> Any:
        try:
            return inspect.getattr_static(real, name)
        except AttributeError:
            raise ApiMisuse(f"tensorrt.{real.__name__} has no attribute {name!r}") from None

    def resolve(self, type_name: str) -> type:
        obj: Any = self.trt
        for part in type_name.removeprefix(_PREFIX).split("."):
            obj = getattr(obj, part)
        return obj

    def _accepts_class(self, cls: type, value: Any) -> bool:
        if isinstance(value, Checked):
            return issubclass(value._real, cls)
        if isinstance(value, cls):
            return True
        if _is_buffer_class(cls):
            return isinstance(value, bytes | bytearray | memoryview)
        if issubclass(cls, self.trt.Dims) and isinstance(value, list | tuple):
            # pybind11 converts a list or tuple of ints to Dims (Dims.__init__(shape: List[int])).
            try:
                cls(list(value))
            except TypeError:
                return False
            return True
        return False

    def accepts(self, type_name: str, value: Any, *, none_ok: bool = False) -> bool:
        """Whether pybind11 would accept ``value`` for a parameter (or return) declared ``type_name``."""
        t = type_name.strip()
        if value is None:
            return none_ok or t == "None" or t.startswith(("Optional[", "typing.Optional["))
        for optional in ("Optional[", "typing.Optional["):
            if t.startswith(optional):
                return self.accepts(t[len(optional) : -1], value)
        if t.startswith("List["):
            return isinstance(value, list | tuple) and all(self.accepts(t[5:-1], v) for v in value)
        simple: dict[str, Callable[[Any], bool]] = {
            "int": lambda v: isinstance(v, int),
            "bool": lambda v: isinstance(v, bool),
            "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "str": lambda v: isinstance(v, str),
            "buffer": lambda v: isinstance(v, bytes | bytearray | memoryview),
        }
        if t in simple:
            return simple[t](value)
        if t.startswith(_PREFIX):
            return self._accepts_class(self.resolve(t), value)
        if "::" in t:
            return True  # a C++ type pybind11 has no Python name for (OnnxParser.get_error's IParserError)
        raise ApiMisuse(f"the checker does not know the pybind11 type {t!r}")

    def mismatch(self, sig: Signature, args: tuple[Any, ...], kwargs: dict[str, Any], *, skip_self: bool) -> str:
        """Why ``args``/``kwargs`` do not fit ``sig`` ('' when they do)."""
        params = list(sig.params[1:] if skip_self else sig.params)
        if len(args) > len(params):
            return f"{len(args)} positional arguments for {len(params)} parameters"
        unknown = set(kwargs) - {p.name for p in params}
        if unknown:
            return f"no parameter named {sorted(unknown)}"
        for i, param in enumerate(params):
            if i < len(args):
                if param.name in kwargs:
                    return f"{param.name!r} given twice"
                value = args[i]
            elif param.name in kwargs:
                value = kwargs[param.name]
            elif param.has_default:
                continue
            else:
                return f"missing {param.name!r}"
            if not self.accepts(param.type, value):
                return f"{param.name}={value!r} is not a {param.type}"
        return ""

    def _match(self, where: str, sigs: list[Signature], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Signature:
        reasons = [self.mismatch(s, args, kwargs, skip_self=True) for s in sigs]
        for sig, reason in zip(sigs, reasons, strict=True):
            if not reason:
                return sig
        shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
        detail = "; ".join(f"{s}: {r}" for s, r in zip(sigs, reasons, strict=True))
        raise ApiMisuse(f"{where}({shown}) fits no signature of the real API: {detail}")

    def returned(self, real: type, name: str, returns: str, value: Any, *, none_ok: bool = True) -> Any:
        """Check what the fake returned against the declared type; wrap objects of the real API."""
        if isinstance(value, FakeObject) and returns.startswith(_PREFIX):
            return Checked(self.resolve(returns), value, self)  # the fake's stand-in for a real object
        if not self.accepts(returns, value, none_ok=none_ok and returns.startswith(_PREFIX)):
            raise ApiMisuse(f"fake tensorrt.{real.__name__}.{name} returned {value!r}, not a {returns}")
        if value is None or isinstance(value, Checked) or not returns.startswith(_PREFIX):
            return value
        cls = self.resolve(returns)
        if hasattr(cls, "__members__") or _is_buffer_class(cls) or isinstance(value, cls):
            return value  # an enum, a buffer (IHostMemory as bytes), or a real object
        return Checked(cls, value, self)

    # --- calls ----------------------------------------------------------------------------------

    def construct(self, real: type, factory: Callable[..., Any], args: tuple[Any, ...]) -> Checked:
        """``tensorrt.<real>(*args)``: checked against ``real.__init__``, made by ``factory``."""
        self._match(f"tensorrt.{real.__name__}", signatures(vars(real)["__init__"], "__init__"), args, {})
        self.calls.append(Call(real.__name__, "__init__", args, {}))
        return Checked(real, factory(*map(_unwrap, args)), self)

    def call(self, target: Checked, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        real = target._real
        sig = self._match(f"tensorrt.{real.__name__}.{name}", signatures(getattr(real, name), name), args, kwargs)
        self.calls.append(Call(real.__name__, name, args, dict(kwargs)))
        method = getattr(target._impl, name, None)
        if method is None:
            raise NotImplementedError(f"the fake does not implement tensorrt.{real.__name__}.{name}")
        result = method(*map(_unwrap, args), **{k: _unwrap(v) for k, v in kwargs.items()})
        return self.returned(real, name, sig.returns, result)

    def call_override(self, obj: Any, base: type, name: str, *args: Any) -> Any:
        """TensorRT calling ``obj.<name>(*args)``, a Python override of the real ``base`` method."""
        if not isinstance(obj, base):
            raise ApiMisuse(f"{obj!r} is not a tensorrt.{base.__name__}: TensorRT cannot call it")
        override = getattr(type(obj), name, None)
        if not inspect.isfunction(override):
            # Still the binding's own method: for a pure virtual one pybind11 raises "Tried to call pure virtual".
            raise ApiMisuse(f"{type(obj).__name__} does not override tensorrt.{base.__name__}.{name}")
        (sig,) = signatures(getattr(base, name), name)
        reason = self.mismatch(sig, args, {}, skip_self=True)
        if reason:
            raise ApiMisuse(f"TensorRT would call {base.__name__}.{name}{args!r}, which does not fit {sig}: {reason}")
        if len(inspect.signature(override).parameters) != len(sig.params):
            raise ApiMisuse(f"{type(obj).__name__}.{name} takes other parameters than {sig}")
        self.calls.append(Call(type(obj).__name__, name, args, {}, kind="override"))
        result = getattr(obj, name)(*args)
        if not self.accepts(sig.returns, result, none_ok=name in _NONE_RESULT_OK):
            raise ApiMisuse(f"{type(obj).__name__}.{name} returned {result!r}; the bindings expect {sig.returns}")
        return result


def _is_buffer_class(cls: type) -> bool:
    # IHostMemory's docstring: "This class exposes a buffer interface using Python's buffer protocol."
    return "buffer protocol" in (cls.__doc__ or "")


def checked_tensorrt(trt: ModuleType, fake: FakeTensorRT) -> tuple[ModuleType, CheckedApi]:
    """A ``tensorrt`` module: the real one, with ``Builder`` and ``OnnxParser`` checked and faked."""
    api = CheckedApi(trt)
    fake.api = api
    module = ModuleType("tensorrt", "The real TensorRT bindings; Builder and OnnxParser checked and faked.")

    def __getattr__(name: str) -> Any:  # PEP 562: everything else is the real module's
        return getattr(trt, name)

    module.__dict__["__getattr__"] = __getattr__
    module.__dict__["__version__"] = trt.__version__
    module.__dict__["Builder"] = lambda *args: api.construct(trt.Builder, fake.builder, args)
    module.__dict__["OnnxParser"] = lambda *args: api.construct(trt.OnnxParser, fake.parser, args)
    return module, api


# --- the fake behaviour (plain Python; every call reaching it was checked above) ------------------


class FakeObject:
    """What the fake returns for an object of the real API; the checker wraps it as the declared class."""


class FakeTensorRT:
    """How the fake TensorRT behaves, and what it saw.

    ``parse_ok`` / ``build_ok``: the parser and the build succeed; ``timing_cache``: ``"ok"``,
    ``"corrupt"`` (create_timing_cache returns None for saved bytes, as for an unreadable file),
    ``"none"`` (it returns None even for ``b""``), or ``"lost"`` (get_timing_cache returns None).
    """

    def __init__(
        self, trt: ModuleType, *, parse_ok: bool = True, build_ok: bool = True, timing_cache: str = "ok"
    ) -> None:
        self.trt = trt
        self.parse_ok = parse_ok
        self.build_ok = build_ok
        self.timing_cache = timing_cache
        self.api: CheckedApi | None = None
        self.configs: list[_Config] = []
        self.calibration_seen: dict[str, Any] = {}

    def builder(self, logger: Any) -> _Builder:
        return _Builder(self, logger)

    def parser(self, network: _Network, logger: Any) -> _Parser:
        return _Parser(self)

    def override(self, obj: Any, base: type, name: str, *args: Any) -> Any:
        assert self.api is not None
        return self.api.call_override(obj, base, name, *args)


class _Network(FakeObject):
    pass


class _Parser(FakeObject):
    def __init__(self, fake: FakeTensorRT) -> None:
        self.fake = fake
        self.num_errors = 0

    def parse_from_file(self, model: str) -> bool:
        self.num_errors = 0 if self.fake.parse_ok else 1
        return self.fake.parse_ok

    def get_error(self, index: int) -> str:
        return "In node 3 (parseGraph): INVALID_NODE: unsupported operator FancyOp"


class _Profile(FakeObject):
    def __init__(self) -> None:
        self.shapes: dict[str, tuple[list[int], list[int], list[int]]] = {}

    def set_shape(self, input: str, min: Any, opt: Any, max: Any) -> None:  # the real parameter names
        self.shapes[input] = (list(min), list(opt), list(max))


class _TimingCache(FakeObject):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def serialize(self) -> bytes:
        return b"TIMING:" + self.data


class _Config(FakeObject):
    def __init__(self, fake: FakeTensorRT) -> None:
        trt = fake.trt
        self.fake = fake
        self.flags = {trt.BuilderFlag.TF32}  # TensorRT's default
        self.pools: dict[Any, int] = {}
        self.profiles: list[_Profile] = []
        self.calibration_profile: _Profile | None = None
        self.int8_calibrator: Any = None
        self.hardware_compatibility_level = trt.HardwareCompatibilityLevel.NONE
        self.cache: _TimingCache | None = None

    def set_memory_pool_limit(self, pool: Any, pool_size: int) -> None:
        self.pools[pool] = pool_size

    def set_flag(self, flag: Any) -> None:
        self.flags.add(flag)

    def clear_flag(self, flag: Any) -> None:
        self.flags.discard(flag)

    def add_optimization_profile(self, profile: _Profile) -> int:
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def set_calibration_profile(self, profile: _Profile) -> bool:
        self.calibration_profile = profile
        return True

    def create_timing_cache(self, serialized_timing_cache: Any) -> _TimingCache | None:
        data = bytes(serialized_timing_cache)
        if self.fake.timing_cache == "none" or (data and self.fake.timing_cache == "corrupt"):
            return None
        return _TimingCache(data)

    def set_timing_cache(self, cache: _TimingCache, ignore_mismatch: bool) -> bool:
        self.cache = cache
        return True

    def get_timing_cache(self) -> _TimingCache | None:
        return None if self.fake.timing_cache == "lost" else self.cache


class _Builder(FakeObject):
    def __init__(self, fake: FakeTensorRT, logger: Any) -> None:
        self.fake = fake
        self.logger = logger

    def create_network(self, flags: int = 0) -> _Network:
        return _Network()

    def create_builder_config(self) -> _Config:
        config = _Config(self.fake)
        self.fake.configs.append(config)
        return config

    def create_optimization_profile(self) -> _Profile:
        return _Profile()

    def _calibrate(self, config: _Config) -> None:
        # What TensorRT asks an INT8 calibrator before (not) feeding it batches.
        fake, base = self.fake, self.fake.trt.IInt8Calibrator
        cal = config.int8_calibrator
        fake.calibration_seen["batch_size"] = fake.override(cal, base, "get_batch_size")
        fake.calibration_seen["cache"] = fake.override(cal, base, "read_calibration_cache")
        fake.calibration_seen["batch"] = fake.override(cal, base, "get_batch", ["x"])

    def build_serialized_network(self, network: _Network, config: _Config) -> bytes | None:
        trt, fake = self.fake.trt, self.fake
        severity = trt.ILogger.Severity
        fake.override(self.logger, trt.ILogger, "log", severity.VERBOSE, "tactic noise")
        fake.override(self.logger, trt.ILogger, "log", severity.INFO, "building")
        if trt.BuilderFlag.INT8 in config.flags and config.int8_calibrator is not None:
            self._calibrate(config)
        if not fake.build_ok:
            fake.override(self.logger, trt.ILogger, "log", severity.ERROR, "out of workspace memory")
            return None
        return b"PLAN:" + ",".join(sorted(f.name for f in config.flags)).encode()
