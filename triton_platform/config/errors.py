"""How a bad stack configuration is reported: one ``ConfigError`` listing every ``Issue``.

An ``Issue`` names the full key (``triton-platform:cluster.name``), why it is wrong, and a valid
example. ``pydantic_issues`` translates pydantic's validation errors into issues: the key path
in camelCase, a plain-words meaning for each pattern of the schema, and the field's declared
example.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from triton_platform.config.schema import (
    AWS_REGION_PATTERN,
    BUCKET_PATTERN,
    CPU_PATTERN,
    DNS_LABEL,
    KUBERNETES_VERSION_PATTERN,
    MEMORY_PATTERN,
    MIG_CONFIG_PATTERN,
    MIG_PROFILE_PATTERN,
    NAMESPACE,
    NGC_RELEASE_PATTERN,
    PREFIX_PATTERN,
    PlatformConfig,
)
from triton_platform.publisher.spec import NAME_PATTERN


def key(path: str) -> str:
    """The full key of a config path: ``cluster.name`` -> ``triton-platform:cluster.name``."""
    return f"{NAMESPACE}:{path}"


class Issue:
    """One bad key: where, why, and a valid example."""

    def __init__(self, key: str, reason: str, example: str | None = None) -> None:
        self.key, self.reason, self.example = key, reason, example

    def __str__(self) -> str:
        tail = f" (example: {self.example})" if self.example else ""
        return f"  - {self.key}: {self.reason}{tail}"


class ConfigError(ValueError):
    """Every problem in a stack configuration, in one message."""

    def __init__(self, issues: list[Issue], stack: str | None = None) -> None:
        self.issues = issues
        where = f" of stack '{stack}'" if stack else ""
        lines = [f"invalid configuration{where} ({len(issues)} problem{'s' if len(issues) != 1 else ''}):"]
        lines += [str(i) for i in issues]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> list[str]:
        return [i.key for i in self.issues]


# What a pattern of the schema asks for, in words (pydantic would print the regex).
PATTERN_MEANING = {
    DNS_LABEL: "must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most 40 characters",
    KUBERNETES_VERSION_PATTERN: "must be a supported Kubernetes minor version, 1.28 or newer",
    BUCKET_PATTERN: "must be a bucket name: 3-63 lowercase letters, digits, '.' and '-'",
    MIG_PROFILE_PATTERN: "must be a MIG profile name like '1g.5gb'",
    PREFIX_PATTERN: "must be a path of letters, digits, '_', '.', '-' without leading or trailing '/'",
    MIG_CONFIG_PATTERN: "must be a mig-manager layout name and a label value: at most 63 lowercase letters, digits, "
    "'-', '_', '.', starting and ending with a letter or digit (media extensions are '.me', e.g. 'all-1g.5gb.me')",
    AWS_REGION_PATTERN: "must be an AWS region name",
    MEMORY_PATTERN: "must be a Kubernetes memory quantity in Ki/Mi/Gi/Ti",
    CPU_PATTERN: "must be a Kubernetes CPU quantity: cores ('2', '0.5') or millicores ('500m')",
    NGC_RELEASE_PATTERN: "must be an NGC release 'YY.MM'",
    NAME_PATTERN: "must be a Triton model name: letters, digits, '_', '.', '-' (at most 63)",
}


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = NAMESPACE
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i == 0:
            out += f":{part}"
        else:
            out += f".{part}"
    return out


def _example_for(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """Walk the pydantic schema along ``loc`` to the field's declared example."""
    current: Any = model
    example: Any = None
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next(
            (f for n, f in current.model_fields.items() if part in (n, f.alias)),
            None,
        )
        if field is None:
            return None
        example = field.examples[0] if field.examples else None
        current = _inner_model(field.annotation)
    if example is None:
        return None
    return repr(example) if isinstance(example, str) else str(example)


def _inner_model(annotation: Any) -> Any:
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for sub in getattr(arg, "__args__", ()):
            if isinstance(sub, type) and issubclass(sub, BaseModel):
                return sub
    return None


def _strip_validator_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    # pydantic puts union/function tags in loc ("function-after[...]"): drop them.
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("str", "int"))))


def pydantic_issues(err: ValidationError) -> list[Issue]:
    """One Issue per error of validating ``PlatformConfig``, in pydantic's order."""
    issues: list[Issue] = []
    for e in err.errors(include_url=False):
        loc = _strip_validator_loc(tuple(e["loc"]))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check spelling; keys are camelCase)"
        elif e["type"] == "string_pattern_mismatch":
            pattern = str((e.get("ctx") or {}).get("pattern", ""))
            msg = PATTERN_MEANING.get(pattern, msg)
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        issues.append(Issue(_key_path(loc), msg, _example_for(PlatformConfig, loc)))
    return issues
