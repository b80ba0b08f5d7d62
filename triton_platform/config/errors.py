"""How a bad stack configuration is reported: one ``ConfigError`` listing every ``Issue``.

An ``Issue`` names the full key (``triton-platform:cluster.name``), why it is wrong, and a valid
example. ``triton_platform.config.explain`` words the schema's own errors as issues; the rules
(``triton_platform.config.rules``) make theirs directly.

``ConfigError`` is a plain ``ValueError``: validation never loads Pulumi. The program
(``__main__.py``) reports it as a ``pulumi.RunError``, which Pulumi prints without a traceback.
"""

from __future__ import annotations

from triton_platform.config.schema import NAMESPACE


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
        self.stack = stack
        where = f" of stack '{stack}'" if stack else ""
        lines = [f"invalid configuration{where} ({len(issues)} problem{'s' if len(issues) != 1 else ''}):"]
        lines += [str(i) for i in issues]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> list[str]:
        return [i.key for i in self.issues]
