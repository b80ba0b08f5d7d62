"""A ``Pulumi.<stack>.yaml`` read the way the Pulumi CLI hands it to the program, without Pulumi.

``python -m triton_platform.config`` checks stack files with it. Each setting becomes what the
engine passes the program (pulumi/pulumi ``sdk/go/common/resource/config/value.go``, ``Value``:
a scalar as its text, a structured value as JSON; keys ``<namespace>:<name>`` or the old
``<namespace>:config:<name>``, as ``ParseKey`` in ``key.go`` reads them) and goes through the same
``config_from_pulumi`` and ``parse_config`` as ``load_config`` under ``pulumi up``: the
``triton-platform:`` keys and the provider keys (``aws:region``, ``gcp:project``, ...) alike.

Secure values (``{secure: v1:...}``) cannot be decrypted here: they count as present, a
placeholder stands in for them, and what only their plaintext could show is left to ``pulumi
up`` (no issue of a secret key is reported, and no secret is ever printed). A file Pulumi
could not load (missing, not UTF-8, not YAML, a key twice, no ``config:`` block, a key without
a namespace) is a ``StackFileError`` that says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from triton_platform.config.errors import ConfigError, Issue
from triton_platform.config.loading import config_from_pulumi, parse_config
from triton_platform.config.schema import NAMESPACE, TOP_LEVEL_KEYS, PlatformConfig

# Stands in for a secure value; issues that mention it are left to `pulumi up`, which decrypts.
SECRET = "[secret]"  # noqa: S105 - a placeholder, never a credential
_STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>.+)\.(yaml|yml|json)$")
_PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")
_NULL = "tag:yaml.org,2002:null"
NEW_STACK = "`make stack NAME=<name> CLOUD=<aws|gcp|azure>` writes a minimal one"


class StackFileError(ValueError):
    """A file Pulumi could not load as a stack's settings; the message says why and what to do."""


class _Loader(yaml.SafeLoader):
    """YAML as Pulumi reads a stack file: a mapping key given twice is an error, not the last one wins."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            name = self.construct_object(key_node, deep=True)
            if not isinstance(name, str | int | float | bool):
                continue  # an unhashable key: SafeLoader itself says so
            if name in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {name!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(name)
        return super().construct_mapping(node, deep)


@dataclass(frozen=True)
class StackFile:
    """A stack file's settings as the engine passes them (``settings``), and which are secret."""

    path: Path
    stack: str
    project_dir: Path
    settings: dict[str, str]
    # Keys whose values are secure, as the ConfigError names them (triton-platform:cluster.project).
    secrets: tuple[str, ...]

    def hides(self, issue: Issue) -> bool:
        """Whether an issue depends on a secret's plaintext (then `pulumi up` has the say)."""
        if SECRET in issue.reason or SECRET in (issue.example or ""):
            return True
        under = any(issue.key == s or issue.key.startswith((f"{s}.", f"{s}[")) for s in self.secrets)
        return under and not issue.reason.startswith("unknown key")


@dataclass(frozen=True)
class Checked:
    """A stack file that passed: its config (None when secrets left nothing to build it from)."""

    file: StackFile
    config: PlatformConfig | None
    cloud: Any

    def summary(self) -> str:
        notes = ""
        if self.file.secrets:
            notes += f"; {len(self.file.secrets)} secret value(s) present, checked by `pulumi up` only"
        if self.config is not None and self.config.release is not None:
            notes += f"; the release pinned from {self.config.release.from_stack} is checked at `pulumi up`"
        cloud = "a secret cloud" if self.cloud == SECRET else f"cloud {self.cloud!r}"
        return f"{self.file.path}: ok (stack '{self.file.stack}', {cloud}{notes})"


def check_stack_file(path: Path) -> Checked:
    """Check a stack file as ``pulumi up`` checks its configuration; raises StackFileError or ConfigError."""
    file = read_stack_file(path)
    raw, providers = config_from_pulumi(file.settings)
    try:
        cfg = parse_config(raw, base_dir=file.project_dir, stack=file.stack, provider_config=providers)
    except ConfigError as err:
        shown = [issue for issue in err.issues if not file.hides(issue)]
        if shown:
            raise ConfigError(shown, file.stack) from None
        return Checked(file, None, raw.get("cloud"))
    return Checked(file, cfg, cfg.cloud)


def read_stack_file(path: Path) -> StackFile:
    """The settings of ``path`` as the engine passes them to the program; raises StackFileError."""
    if path.name in _PROJECT_FILES:
        raise StackFileError(f"{path.name} is the project file; give a stack file, Pulumi.<stack>.yaml")
    node, document = _parse(path, _read(path))
    config = document.get("config") if isinstance(document, Mapping) else None
    if config is None:
        raise StackFileError(
            f"has no `config:` block: a stack file holds its settings under `config:` "
            f"(e.g. `config: {{{NAMESPACE}:cloud: local, ...}}`); {NEW_STACK}"
        )
    if not isinstance(config, Mapping):
        raise StackFileError(f"`config:` must be a mapping of `<namespace>:<name>: value`, not {type(config).__name__}")
    texts = _scalar_texts(node)
    settings: dict[str, str] = {}
    secrets: list[str] = []
    bad_keys = [str(k) for k in config if _parse_key(str(k)) is None]
    if bad_keys:
        lines = [f"  - {_bad_key(k)}" for k in bad_keys]
        raise StackFileError("\n".join([f"has keys Pulumi cannot read ({len(bad_keys)}):", *lines]))
    for name, value in config.items():
        full_key = _parse_key(str(name)) or str(name)
        settings[full_key] = _as_setting(full_key, value, texts.get(str(name)), secrets)
    match = _STACK_FILE.match(path.name)
    stack = match["stack"] if match else path.stem
    return StackFile(path, stack, _project_dir(path), settings, tuple(secrets))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackFileError("no such file") from None
    except IsADirectoryError:
        raise StackFileError("is a directory, not a stack file (Pulumi.<stack>.yaml)") from None
    except UnicodeDecodeError as err:
        raise StackFileError(f"is not UTF-8 text (byte {err.start}): a stack file is YAML") from None
    except OSError as err:
        raise StackFileError(f"cannot be read: {err.strerror or err}") from None


def _parse(path: Path, text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for the text of scalars) and its value; raises StackFileError."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise StackFileError(f"is not valid YAML: {err.problem or err.context}{where}") from None
    except yaml.YAMLError as err:
        raise StackFileError(f"is not valid YAML: {err}") from None
    finally:
        loader.dispose()


def _scalar_texts(node: yaml.Node | None) -> dict[str, str]:
    """The text of each scalar setting under ``config:`` as written (``1.30``, not 1.3): what Pulumi passes."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    config = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "config"), None)
    if not isinstance(config, yaml.MappingNode):
        return {}
    return {
        k.value: ("" if v.tag == _NULL else v.value)
        for k, v in config.value
        if isinstance(k, yaml.ScalarNode) and isinstance(v, yaml.ScalarNode)
    }


def _parse_key(name: str) -> str | None:
    """``<namespace>:<name>`` (or the old ``<namespace>:config:<name>``) as Pulumi's ParseKey reads it."""
    parts = name.split(":")
    if len(parts) == 2:
        return name
    if len(parts) == 3 and parts[1] == "config":
        return f"{parts[0]}:{parts[2]}"
    return None


def _bad_key(name: str) -> str:
    if name in TOP_LEVEL_KEYS:
        return f"`{name}` has no namespace: did you mean `{NAMESPACE}:{name}`? (keys are `<namespace>:<name>`)"
    return f"`{name}` is not a Pulumi configuration key: keys are `<namespace>:<name>`, e.g. `{NAMESPACE}:cloud`"


def _is_secure(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and isinstance(value.get("secure"), str)


def _as_setting(full_key: str, value: Any, text: str | None, secrets: list[str]) -> str:
    """One setting as the engine passes it: a scalar's text, a structured value as JSON, secrets replaced."""
    if _is_secure(value):
        secrets.append(full_key)
        return SECRET
    if not isinstance(value, Mapping | list):
        return text if text is not None else ("" if value is None else str(value))
    return json.dumps(_without_secrets(value, full_key, secrets), default=str)


def _without_secrets(value: Any, where: str, secrets: list[str]) -> Any:
    if _is_secure(value):
        secrets.append(where)
        return SECRET
    if isinstance(value, Mapping):
        return {str(k): _without_secrets(v, f"{where}.{k}", secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(v, f"{where}[{i}]", secrets) for i, v in enumerate(value)]
    return value


def _project_dir(path: Path) -> Path:
    """Where the program runs (model sources are relative to it): the nearest folder with Pulumi.yaml."""
    folder = path.resolve().parent
    for candidate in (folder, *folder.parents):
        if any((candidate / name).is_file() for name in _PROJECT_FILES):
            return candidate
    return folder
